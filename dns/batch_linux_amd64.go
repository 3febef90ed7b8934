package dns

// sysSENDMMSG is sendmmsg(2)'s number, missing from package syscall on amd64.
const sysSENDMMSG = 307
