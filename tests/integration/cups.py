"""
cups.py: a private CUPS scheduler for the printing tests, and a thermal
printer emulator to be its device.

Cupsd writes its own cupsd.conf and cups-files.conf under the test's
directory (every file, spool and log there), listens on 127.0.0.1 on a free
port, and runs `cupsd -f -c CONF -s FILES` in the foreground; it never
touches the machine's own scheduler. Queues are added with lpadmin against
that port.

Printer is the ESC/POS printer standing in for the real one: a listener on
loopback that records, per connection, every byte CUPS's socket backend
sends (a raw queue passes them through unchanged). Stopping it closes the
listening socket, so the backend's connections are refused, as when a
printer is switched off; starting it again listens on the same port.

Python standard library only.
"""
import os
import shutil
import socket
import subprocess
import threading
import time

from harness import Failure, check


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Printer:
    """An ESC/POS printer on loopback: .jobs is the list of byte strings received, one per connection."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.jobs = []
        self.cond = threading.Condition()
        self.sock = None
        self.thread = None

    def start(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(8)
        self.sock = s
        self.thread = threading.Thread(target=self._accept, args=(s,), daemon=True)
        self.thread.start()
        return self

    def stop(self):
        """Switch the printer off: nothing listens on its port any more."""
        s, self.sock = self.sock, None
        if s is not None:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        if self.thread is not None:
            self.thread.join(5)

    def _accept(self, s):
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            threading.Thread(target=self._receive, args=(c,), daemon=True).start()

    def _receive(self, c):
        data = bytearray()
        c.settimeout(30)
        try:
            while True:
                b = c.recv(65536)
                if not b:
                    break
                data += b
        except OSError:
            pass
        finally:
            c.close()
        if data:
            with self.cond:
                self.jobs.append(bytes(data))
                self.cond.notify_all()

    def wait_jobs(self, n, timeout=15):
        """Wait until at least n jobs arrived; return them all."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.jobs) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failure("printer emulator: expected %d jobs, got %d within %d s"
                                  % (n, len(self.jobs), timeout))
                self.cond.wait(left)
            return list(self.jobs)


CUPSD_CONF = """\
# written by tests/integration/cups.py: a private scheduler for one test
Listen 127.0.0.1:{port}
Browsing No
DefaultAuthType None
WebInterface No
LogLevel info
MaxLogSize 0
JobRetryInterval 1
<Location />
  Order allow,deny
  Allow all
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
    Allow all
  </Limit>
</Policy>
"""

CUPS_FILES_CONF = """\
# written by tests/integration/cups.py
ServerRoot {dir}
RequestRoot {dir}/spool
TempDir {dir}/tmp
CacheDir {dir}/cache
StateDir {dir}/state
AccessLog {dir}/log/access_log
ErrorLog {dir}/log/error_log
PageLog {dir}/log/page_log
FileDevice Yes
Sandboxing Relaxed
Printcap {dir}/printcap
"""


class Cupsd:
    """A private cupsd on 127.0.0.1:port, configured and spooling under dir."""

    def __init__(self, parent_dir, port=None):
        for tool in ("cupsd", "lpadmin", "lpstat", "cupsdisable", "cupsenable"):
            if shutil.which(tool) is None and not os.path.exists("/usr/sbin/" + tool):
                raise Failure("%s is not installed: make deps-test installs it "
                              "(DEBS_TEST: cups, cups-client)" % tool)
        self.dir = os.path.join(parent_dir, "cups")
        # The backend runs as lp and must reach the spool: let others through (not list) the test's directory.
        os.chmod(parent_dir, 0o711)
        self.port = port or free_port()
        self.server = "127.0.0.1:%d" % self.port
        self.proc = None
        for sub in ("spool", "tmp", "cache", "state", "log", "ppd"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        os.chmod(os.path.join(self.dir, "spool"), 0o1777)
        os.chmod(os.path.join(self.dir, "tmp"), 0o1777)
        self.conf = os.path.join(self.dir, "cupsd.conf")
        self.files = os.path.join(self.dir, "cups-files.conf")
        with open(self.conf, "w") as f:
            f.write(CUPSD_CONF.format(port=self.port))
        with open(self.files, "w") as f:
            f.write(CUPS_FILES_CONF.format(dir=self.dir))

    def env(self):
        e = dict(os.environ)
        e["CUPS_SERVER"] = self.server
        return e

    def start(self):
        self.proc = subprocess.Popen(["cupsd", "-f", "-c", self.conf, "-s", self.files],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            r = subprocess.run(["lpstat", "-h", self.server, "-r"], capture_output=True,
                               text=True, env=self.env())
            if "is running" in r.stdout:
                return self
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise Failure("private cupsd did not start: %s%s\n%s" % (r.stdout, r.stderr,
                                                                         self.error_log()))
            time.sleep(0.05)

    def run(self, *argv):
        """Run a CUPS client command against this scheduler; fail when it fails."""
        argv = list(argv)
        if argv[0] in ("lpadmin", "lpstat", "cancel", "lpinfo", "cupsenable", "cupsdisable"):
            argv[1:1] = ["-h", self.server]
        r = subprocess.run(argv, capture_output=True, text=True, env=self.env())
        check(r.returncode == 0, "%s failed (%d): %s%s" % (" ".join(argv), r.returncode,
                                                           r.stdout, r.stderr))
        return r.stdout

    def add_raw_queue(self, name, device_port):
        """A raw queue (no filter) whose device is the emulator on device_port."""
        self.run("lpadmin", "-p", name, "-v", "socket://127.0.0.1:%d" % device_port, "-E",
                 "-o", "printer-error-policy=retry-current-job")

    def error_log(self):
        try:
            with open(os.path.join(self.dir, "log", "error_log"), errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return "(no cupsd error_log)"

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
