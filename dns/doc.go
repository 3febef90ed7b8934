// Package dns implements the Domain Name System's messages, zone files, an
// authoritative name server and a stub client, as RFC 1034 and RFC 1035
// define them (with EDNS0 from RFC 6891, unknown record types from RFC
// 3597, dynamic update from RFC 2136, NOTIFY from RFC 1996, zone transfer
// from RFC 5936 and DNS Cookies from RFC 7873 and RFC 9018).
//
// DNS is an application-layer protocol at the network's edge: hosts and
// name servers talk it over UDP port 53 (and TCP, for long answers) to
// translate host names to IP addresses and back, to find a domain's mail
// servers (host and mail server aliasing) and to spread clients over
// replicated web servers (load distribution). It is one distributed
// database, not a central one: a central server would be a single point of
// failure, carry all the traffic, sit far from most clients and be hard to
// maintain.
//
// # Records
//
// The database holds resource records, (name, value, type, TTL): an RR has
// a Name, a TTL and Data of one of the types — *A (hostname to IPv4
// address), *AAAA, *NS (the name server of a domain), *CNAME (an alias's
// canonical name), *MX (a domain's mail server), *SOA, *TXT, *PTR, *SRV,
// *CAA — or *Unknown for every other type, carried unchanged. A Name is
// kept in wire form, compares without regard to case, and prints with
// escapes.
//
// # Messages
//
// Query and reply share one format, the Message:
//
//	+--------------------+--------------------+
//	|   identification   |       flags        |   Header
//	|    # questions     |   # answer RRs     |
//	|   # authority RRs  |  # additional RRs  |
//	+--------------------+--------------------+
//	|  questions (name, type)                 |   Questions
//	|  answers (RRs in response to the query) |   Answers
//	|  authority (RRs for authoritative       |   Authorities
//	|             servers)                    |
//	|  additional "helpful" info              |   Additionals
//	+-----------------------------------------+
//
// The Header's ID matches a reply to its query; its flags say query or
// reply (Response), recursion desired and available, and whether the reply
// is authoritative. (*Message).AppendPack writes a message with name
// compression into a caller's buffer; (*Message).Unpack reads one, following
// compression pointers only backwards and a bounded number of times (RFC
// 9267). A Parser reads the header and question without allocating.
// EDNS holds the OPT pseudo-record: the UDP size a client can take and the
// upper bits of the RCode.
//
// # Zones and the authoritative server
//
// Network Utopia registers networkutopia.com: the registrar puts NS and A
// (glue) records into the .com servers, and the company runs its own
// authoritative server with an A record for www and an MX record for the
// domain. Here that is a master file read by ZoneFile.Parse (or ReadZone),
// indexed as a Zone, served by Zones (the zone-backed Handler) through a
// Server listening on UDP and TCP:
//
//	z, _ := dns.ReadZone(dns.ZoneFile{Origin: dns.MustParseName("networkutopia.com")}, file)
//	zs, _ := dns.NewZones(z)
//	srv := &dns.Server{Addr: "127.0.0.1:5300", Handler: zs}
//	srv.ListenAndServe()
//
// The server sets AA, answers NXDOMAIN or NODATA with the zone's SOA,
// follows CNAMEs inside the zone, synthesises wildcards, refers queries
// below a delegation to the child's name servers (with glue), REFUSES names
// outside its zones, echoes EDNS and answers BADVERS to versions it does
// not speak, truncates what does not fit a UDP reply (TC) and rotates
// several A records for one name between answers.
//
// # The client
//
// A Client (a stub resolver) sends a Message to one server with a random ID
// from a fresh socket (a random source port), accepts only a reply that
// matches, retries, and asks again over TCP when the reply is truncated:
//
//	var c dns.Client
//	mx, err := c.LookupMX(ctx, "127.0.0.1:5300", dns.MustParseName("networkutopia.com"))
//
// Conn is a single connection for callers that manage their own.
//
// # Inserting and changing records: UPDATE, NOTIFY, AXFR
//
// A Primary serves zones that change. Network Utopia's registrar inserts
// the NS record and the glue A record into .com with a dynamic UPDATE
// (RFC 2136): the zone section names the zone, the prerequisite section
// says what must (not) be there — here, that networkutopia.com is not yet
// in use — and the update section adds and deletes records. All of it
// applies or none; the SOA serial goes up, Primary.Save writes the zone
// back to its file (WriteZoneFile), and the secondaries in Primary.Notify
// get a NOTIFY (RFC 1996), sent from goroutines that Primary.Close cancels
// and waits for (close the Server first). A Secondary answers from its copy of a zone: on
// NOTIFY, and every SOA refresh interval, it compares the primary's serial
// with its own and transfers the whole zone by AXFR over TCP (RFC 5936,
// Transfer) when the primary's is newer. Updates and transfers are allowed
// to the addresses the Primary's policies accept (loopback by default).
//
// # Amplification
//
// A DNS reply can be fifty times the size of its query, and UDP does not
// check the source address: an attacker sends queries "from" a victim and
// name servers flood the victim with replies. Server.RateLimit (RRL) caps
// the replies to one client prefix; past the cap every Slip-th reply goes
// out empty with TC set — a real client asks again over TCP — and the
// others are dropped. ANY over UDP gets one synthesised HINFO record (RFC
// 8482) instead of every RRset at the name.
//
// # Cookies: forged replies and spoofed sources
//
// Both of the slides' attacks work because a DNS message over UDP proves
// nothing about who sent it: an attacker off the path forges replies that
// redirect a resolver (poisoning), or forges queries "from" a victim
// (amplification). DNS Cookies (RFC 7873) are a handshake light enough for
// every query. The client puts a random client cookie in an EDNS COOKIE
// option (Cookie); the server answers with that cookie and a server cookie
// that only it can make — a keyed hash of the client cookie, the client's
// address and a secret, with a timestamp (RFC 9018: AppendServerCookie,
// SipHash-2-4). A reply that does not carry the client's own cookie is
// forged, and the client drops it: the forger never saw the query. A query
// that carries a valid server cookie comes from the address it names: the
// server sent the cookie there and it came back (CheckServerCookie). The
// Server answers cookies always, exempts queries with a valid one from
// RateLimit, and with RequireCookies answers BADCOOKIE to a UDP query
// without one, so that the client asks again with it, proving its address.
// The resolver in package appnet.dev/dns/resolver sends cookies upstream.
//
// # The hierarchy and the local DNS server
//
// Package appnet.dev/dns/hierarchy starts the slides' hierarchy on one
// machine — root, TLD and authoritative servers with their delegations and
// glue — and package appnet.dev/dns/resolver is the local DNS server: an
// iterative resolver with a TTL cache, served to stub clients as a
// recursive name server.
package dns
