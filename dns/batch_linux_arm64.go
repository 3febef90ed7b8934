package dns

import "syscall"

const sysSENDMMSG = syscall.SYS_SENDMMSG
