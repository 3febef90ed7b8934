# The slides' UDPServer, in Python 3. Usage: UDPServer.py [COUNT]
# Binds to 127.0.0.1 on a port the system picks, says which on its first
# line of output, and answers COUNT datagrams (default 1), so that a
# test's run is bounded.
from socket import *
import sys

serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('127.0.0.1', 0))
serverSocket.settimeout(30)
print("The server is ready to receive on port", serverSocket.getsockname()[1], flush=True)
for _ in range(int(sys.argv[1]) if len(sys.argv) > 1 else 1):
    message, clientAddress = serverSocket.recvfrom(2048)
    modifiedMessage = message.decode().upper()
    serverSocket.sendto(modifiedMessage.encode(), clientAddress)
