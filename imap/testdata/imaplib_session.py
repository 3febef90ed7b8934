# A scripted imaplib session that runs every command the server implements.
# Usage: python3 imaplib_session.py PORT USER PASS
# Prints one line per check; exits non-zero on the first failure.
import imaplib, sys, time
for _c in ('ID', 'MOVE', 'BOGUS'):
    imaplib.Commands[_c] = ('NONAUTH', 'AUTH', 'SELECTED')

port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]

def check(what, typ, data=None):
    if typ != 'OK':
        print('FAIL', what, typ, data)
        sys.exit(1)
    print('ok', what, data if data is not None else '')

M = imaplib.IMAP4('127.0.0.1', port)
caps = M.capabilities
for c in ('IMAP4REV1', 'UIDPLUS', 'MOVE', 'IDLE', 'LITERAL-'):
    if c not in caps:
        print('FAIL capability', c, caps); sys.exit(1)
check('CAPABILITY', *M.capability())
check('NOOP', *M.noop())
typ, data = M.login(user, password)
check('LOGIN', typ)
check('ENABLE', *M._simple_command('ENABLE', 'UTF8=ACCEPT'))
check('ID', *M._simple_command('ID', 'NIL'))
check('CREATE', *M.create('Archive'))
check('CREATE nested', *M.create('Archive.2026'))
check('CREATE utf7', *M.create('Entw&APw-rfe'))
check('SUBSCRIBE', *M.subscribe('Archive'))
typ, data = M.list()
check('LIST', typ, data)
names = b' '.join(data)
for n in (b'INBOX', b'Archive.2026', b'Entw&APw-rfe'):
    if n not in names: print('FAIL LIST lacks', n); sys.exit(1)
typ, data = M.lsub()
check('LSUB', typ, data)
if len(data) != 1 or b'Archive' not in data[0]: print('FAIL LSUB', data); sys.exit(1)
check('UNSUBSCRIBE', *M.unsubscribe('Archive'))
check('RENAME', *M.rename('Entw&APw-rfe', 'Drafts'))
check('DELETE', *M.delete('Drafts'))

msg = (b'From: Alice <alice@crepes.fr>\r\nTo: bob@hamburger.edu\r\n'
       b'Subject: Searching for the meaning of life\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\n'
       b'Message-ID: <1@crepes.fr>\r\n\r\nHi Bob!\r\nIs the meaning of life 42?\r\n')
typ, data = M.append('INBOX', r'(\Flagged)', imaplib.Time2Internaldate(time.time()), msg)
check('APPEND', typ, data)
if b'APPENDUID' not in data[0]: print('FAIL no APPENDUID', data); sys.exit(1)
M.append('INBOX', None, None, msg.replace(b'meaning of life', b'crepes recipe'))
M.append('INBOX', None, None, msg.replace(b'Alice', b'Carol'))
typ, data = M.status('INBOX', '(MESSAGES UIDNEXT UIDVALIDITY UNSEEN)')
check('STATUS', typ, data)
if b'MESSAGES 3' not in data[0]: print('FAIL STATUS', data); sys.exit(1)
typ, data = M.select('INBOX', readonly=True)
check('EXAMINE', typ, data)
check('UNSELECT', *M.unselect())
typ, data = M.select('INBOX')
check('SELECT', typ, data)
if data != [b'3']: print('FAIL SELECT count', data); sys.exit(1)
# The first read-write SELECT since the APPENDs (EXAMINE does not count)
# sees the three messages as recent.
typ, data = M.response('RECENT')
if data != [b'3']: print('FAIL RECENT', data); sys.exit(1)
print('ok RECENT', data)
typ, data = M.fetch('1:*', '(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)')
check('FETCH meta', typ, data)
typ, data = M.fetch('1', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[TEXT]<0.6>)')
check('FETCH sections', typ, data)
if data[0][1] != b'Subject: Searching for the meaning of life\r\n\r\n' or data[1][1] != b'Hi Bob':
    print('FAIL sections', data); sys.exit(1)
typ, data = M.fetch('1', '(BODY[])')
check('FETCH BODY[]', typ, data)
if data[0][1] != msg: print('FAIL BODY[]', data); sys.exit(1)
typ, data = M.fetch('1', '(FLAGS)')
if b'\\Seen' not in data[0]: print('FAIL BODY[] did not set \\Seen', data); sys.exit(1)
if b'\\Recent' not in data[0]: print('FAIL no \\Recent', data); sys.exit(1)
typ, data = M.fetch('2', '(BINARY.PEEK[1] BINARY.SIZE[1])')
check('FETCH BINARY', typ, data)
typ, data = M.search(None, 'FROM', 'carol', 'SUBJECT', 'meaning')
check('SEARCH', typ, data)
if data != [b'3']: print('FAIL SEARCH', data); sys.exit(1)
typ, data = M.search(None, 'OR', 'FLAGGED', 'BODY', 'crepes', 'NOT', 'DELETED')
check('SEARCH OR/NOT', typ, data)
if data != [b'1 2']: print('FAIL SEARCH OR', data); sys.exit(1)
typ, data = M.uid('SEARCH', 'UID', '2:*', 'SINCE', '1-Jan-2020', 'LARGER', '10')
check('UID SEARCH', typ, data)
if data != [b'2 3']: print('FAIL UID SEARCH', data); sys.exit(1)
typ, data = M.store('2', '+FLAGS', r'(\Answered $Label1)')
check('STORE', typ, data)
if b'$Label1' not in data[0]: print('FAIL STORE', data); sys.exit(1)
typ, data = M.uid('STORE', '2', '-FLAGS.SILENT', r'(\Answered)')
check('UID STORE', typ, data)
typ, data = M.copy('1', 'Archive')
check('COPY', typ, data)
typ, data = M.uid('COPY', '2', 'Archive')
check('UID COPY', typ, data)
typ, data = M._simple_command('MOVE', '3', 'Archive.2026')
check('MOVE', typ, data)
typ, data = M._simple_command('UID', 'MOVE', '2', 'Archive.2026')
check('UID MOVE', typ, data)
typ, data = M.select('INBOX')
if data != [b'1']: print('FAIL after MOVE', data); sys.exit(1)
M.append('INBOX', None, None, msg)
M.append('INBOX', None, None, msg)
M.select('INBOX')
check('STORE \\Deleted', *M.store('1:2', '+FLAGS', r'\Deleted'))
typ, data = M._simple_command('UID', 'EXPUNGE', '1')
check('UID EXPUNGE', typ, data)
typ, data = M.expunge()
check('EXPUNGE', typ, data)
typ, data = M.select('INBOX')
if data != [b'1']: print('FAIL after EXPUNGE', data); sys.exit(1)
check('CHECK', *M.check())
typ, data = M.store('1', '+FLAGS', r'\Deleted')
check('CLOSE', *M.close())
typ, data = M.status('INBOX', '(MESSAGES)')
if b'MESSAGES 0' not in data[0]: print('FAIL CLOSE did not expunge', data); sys.exit(1)
typ, data = M.status('Archive', '(MESSAGES)')
if b'MESSAGES 2' not in data[0]: print('FAIL Archive', data); sys.exit(1)
M.select('Archive')
# IDLE: start, then DONE.
tag = M._new_tag()
M.send(tag + b' IDLE\r\n')
line = M.readline()
if not line.startswith(b'+'): print('FAIL IDLE', line); sys.exit(1)
M.send(b'DONE\r\n')
while True:
    line = M.readline()
    if line.startswith(tag):
        break
if b'OK' not in line: print('FAIL IDLE end', line); sys.exit(1)
print('ok IDLE')
try:
    M._simple_command('BOGUS')
    print('FAIL BOGUS accepted'); sys.exit(1)
except imaplib.IMAP4.error as e:
    print('ok BAD', e)
typ, data = M.logout()
if typ != 'BYE': print('FAIL LOGOUT', typ, data); sys.exit(1)
print('ok LOGOUT', data)

# AUTHENTICATE PLAIN on a second connection.
M2 = imaplib.IMAP4('127.0.0.1', port)
typ, data = M2.authenticate('PLAIN', lambda _: b'\0' + user.encode() + b'\0' + password.encode())
check('AUTHENTICATE PLAIN', typ, data)
try:
    M2.starttls()
    print('FAIL STARTTLS without TLS configured'); sys.exit(1)
except imaplib.IMAP4.error as e:
    print('ok STARTTLS refused without a certificate', e)
# The first session took Archive's messages as recent: none for this one.
typ, data = M2.select('Archive')
typ, data = M2.response('RECENT')
if data != [b'0']: print('FAIL RECENT in a second session', data); sys.exit(1)
print('ok RECENT in a second session', data)
# RENAME INBOX moves its messages and leaves it empty.
M2.append('INBOX', None, None, msg)
check('RENAME INBOX', *M2.rename('INBOX', 'Old'))
typ, data = M2.status('INBOX', '(MESSAGES)')
if b'MESSAGES 0' not in data[0]: print('FAIL INBOX after RENAME', data); sys.exit(1)
typ, data = M2.status('Old', '(MESSAGES)')
if b'MESSAGES 1' not in data[0]: print('FAIL Old after RENAME', data); sys.exit(1)
typ, data = M2.logout()
print('ok LOGOUT', data)
