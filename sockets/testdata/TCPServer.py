# The slides' TCPServer, in Python 3. Usage: TCPServer.py [COUNT]
# Listens on 127.0.0.1 on a port the system picks, says which on its
# first line of output, and serves COUNT clients (default 1) with one
# recv each, as the slide does, so that a test's run is bounded.
from socket import *
import sys

serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.bind(('127.0.0.1', 0))
serverSocket.listen(1)
serverSocket.settimeout(30)
print('The server is ready to receive on port', serverSocket.getsockname()[1], flush=True)
for _ in range(int(sys.argv[1]) if len(sys.argv) > 1 else 1):
    connectionSocket, addr = serverSocket.accept()
    connectionSocket.settimeout(30)
    sentence = connectionSocket.recv(1024).decode()
    capitalizedSentence = sentence.upper()
    connectionSocket.send(capitalizedSentence.encode())
    connectionSocket.close()
