// Package message implements the Internet message format that SMTP
// carries and IMAP describes: RFC 5322 header fields and bodies, with the
// MIME extensions of RFC 2045, 2046, 2047 and 2231.
//
// The lecture puts it this way: RFC 5321 (package smtp) is the protocol,
// like HTTP; RFC 822, now RFC 5322, is the syntax of the message itself,
// like HTML. A message is header lines (To:, From:, Subject: …) and a
// body; and those header lines are not the SMTP envelope. Alice's user
// agent may write "To: bob@hamburger.edu" while her mail server says
// RCPT TO:<carol@hamburger.edu> — that is how Bcc works.
//
//	From: Alice <alice@crepes.fr>
//	To: Bob <bob@hamburger.edu>
//	Subject: Searching for the meaning of life
//
//	Do you like ketchup?
//	How about pickles?
//
// The slides say the body is 7-bit ASCII. MIME is how everything else
// travels in it: a Content-Type names the body's media type (a photo,
// text in UTF-8, or a multipart holding several objects one after the
// other, each with its own header), and a Content-Transfer-Encoding
// (base64 or quoted-printable) turns any octets into short ASCII lines.
//
// # Header
//
// A Header keeps its Fields in order, as the trace fields of RFC 5321
// §4.4 require; lookups ignore case. Values are stored unfolded.
// AppendField and Header.AppendTo fold lines at whitespace to about 78
// octets and never write a line over 998 (MaxLineLength). DecodeWords and
// EncodeWord convert RFC 2047 encoded words ("=?UTF-8?Q?caf=C3=A9?=").
//
// # Addresses, dates, identifiers
//
// ParseAddressList reads RFC 5322 §3.4 address lists with display names,
// comments, quoted strings, groups and obsolete forms into Address values
// (Name, Local, Domain, and Group for the members of a group);
// FormatAddressList writes them back. ParseDate and FormatDate read and
// write §3.3 dates; NewMessageID makes a Message-ID.
//
// # MIME
//
// ParseMediaType and FormatMediaType handle Content-Type and
// Content-Disposition with parameters, including RFC 2231 continuations
// and charsets. NewDecoder and NewEncoder apply transfer encodings.
//
// # Parsing: the part tree
//
// Parse (in memory) and Parser.Parse (streaming from an io.Reader, holding
// only one bounded header at a time) return the message's tree of Part
// values. For every entity a Part records what an IMAP server needs for
// ENVELOPE, BODYSTRUCTURE and BODY[section]:
//
//   - Header, the fields in order;
//   - Type, Subtype and Params (Content-Type), Encoding
//     (Content-Transfer-Encoding), ID, Description, MD5, Disposition and
//     DispositionParams, Language, Location;
//   - the same as written, for BODYSTRUCTURE, which reports them so:
//     RawType, RawSubtype, ParamList, RawDisposition and
//     DispositionParamList (Param values in order, RFC 2231 undecoded);
//   - HeaderOffset/HeaderSize and BodyOffset/BodySize, the byte ranges of
//     its header (with the blank line) and body in the raw message, so
//     BODY[1.2.MIME] is raw[HeaderOffset:HeaderOffset+HeaderSize] of part
//     1.2 and BODY[2.HEADER] is the header of the message enclosed in
//     part 2 (Part.Message);
//   - Lines, the body's line count;
//   - Parts for a multipart, Message for message/rfc822.
//
// Part.Lookup follows IMAP section numbers (1.2.3) through multiparts and
// enclosed messages with RFC 3501 §6.4.5's rules (a part that is not a
// multipart is its own part 1). Address.RawName and RawGroup keep the
// names ENVELOPE carries still RFC 2047 encoded. The parser is liberal, as RFC 2046 asks: line
// endings may be CRLF or LF, missing boundaries end at the end of input,
// a line that is not a field ends the header, and bounds (Parser) cap
// header size, part count and depth; it never fails on content, only when
// reading fails.
//
// # Building
//
// A Message is a header with either a Body or Parts. Message.WriteTo
// writes it with CRLF line endings, generating multipart boundaries
// (NewBoundary) and choosing a transfer encoding when a body needs one.
// ReadMessage is the reverse: a whole message read into a decoded Message.
package message
