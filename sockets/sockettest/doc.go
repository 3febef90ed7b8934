// Package sockettest is the test companion of package sockets: the
// plumbing every interop test of appnet shares when it runs a real peer
// (Postfix, NSD, nginx, aria2, the slides' own Python programs) beside
// our code on the loopback interface.
//
// A test finds its peer with [Need] (or [Python] and [PythonModule] for
// the Python programs), which skips the test, naming the Debian package
// to install, when the program is missing. It picks a port with
// [FreePort], starts the peer with [StartProcess] (which stops it by
// PID when the test ends and shows its output if the test failed),
// waits for it with [Process.WaitDial] (or [WaitDial]), and talks TLS to
// it with the certificate of [TestCert]. [SyncBuffer] collects a Trace or
// a peer's output that several goroutines write at once, and waits for a
// line in it with [SyncBuffer.WaitFor]. nginx, the web server several
// packages measure themselves against, has a helper of its own,
// [StartNginx], which runs it with its workers and stops them all.
//
// Every goroutine has an owner that stops it: [VerifyNoLeaks], as a
// package's TestMain, checks after the tests that none of appnet's is
// left, and [BlockedGoroutines] lets a test check it right after a Close.
//
// Nothing here keeps state between tests; every helper takes the test
// it works for.
package sockettest
