"""
A private PostgreSQL for a test (docs/hq.md): Debian's own server binaries
(package postgresql), a cluster made by initdb in the test's directory,
listening on a free loopback port and a socket in that directory, run as
an unprivileged user because PostgreSQL refuses root. Nothing of the
machine's own clusters is touched.

    pg = Postgres(env)           # initdb and start; stopped at the test's cleanup
    pg.psql("SELECT 1")          # as the superuser, through the socket
    pg.load_schema()             # hq/schema.sql
    pg.add_branch("B001")        # a branch's login; its conninfo for [uplink]
    pg.stop(); pg.start()        # the WAN down, and back
    pg.kill9()
"""
import glob
import os
import pwd
import shutil
import socket
import subprocess
import time

from harness import Failure, check

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(os.path.dirname(os.path.dirname(HERE)), "hq", "schema.sql")


def _bindir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    check(found, "PostgreSQL's server is installed (Debian package postgresql; make deps-test)")
    return os.path.dirname(found[-1])


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    def __init__(self, env):
        self.env = env
        self.bin = _bindir()
        self.root = os.path.join(env.dir, "pg")
        self.data = os.path.join(self.root, "data")
        self.sock = self.root
        self.port = _free_port()
        self.user = None
        os.makedirs(self.root, exist_ok=True)
        if os.geteuid() == 0:
            # As root: the cluster belongs to the postgres system user (the package makes it).
            self.user = "postgres"
            pw = pwd.getpwnam(self.user)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            os.chmod(env.dir, 0o755)
        self._run(["initdb", "-D", self.data, "-U", "hq_admin", "--auth-local=trust",
                   "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"])
        with open(os.path.join(self.data, "postgresql.auto.conf"), "a") as f:
            f.write("listen_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\n"
                    "fsync = on\nlog_min_messages = warning\n" % (self.port, self.sock))
        env.cleanups.append(self.kill9)
        self.start()

    def _run(self, argv, check_rc=True, timeout=120):
        argv = [os.path.join(self.bin, argv[0])] + argv[1:]
        if self.user:
            argv = ["runuser", "-u", self.user, "--"] + argv
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
        if check_rc and p.returncode != 0:
            raise Failure("%s: exit %d: %s" % (" ".join(argv), p.returncode,
                                               p.stdout.decode("utf-8", "replace")[-2000:]))
        return p

    def start(self):
        self._run(["pg_ctl", "-D", self.data, "-l", os.path.join(self.root, "log"), "-w",
                   "-t", "60", "start"])

    def stop(self):
        self._run(["pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop"])

    def kill9(self):
        """The server killed at once (and its children), as a crash or a pulled plug."""
        pidfile = os.path.join(self.data, "postmaster.pid")
        if not os.path.exists(pidfile):
            return
        with open(pidfile) as f:
            pid = int(f.readline())
        subprocess.run(["pkill", "-9", "-P", str(pid)], check=False)
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        if os.path.exists(pidfile):
            os.unlink(pidfile)

    def psql(self, sql, user="hq_admin", password=None, db="postgres", check_rc=True):
        """Run sql; (exit status, output) with rows as tab-separated lines, no headers."""
        argv = [os.path.join(self.bin, "psql"), "-X", "-q", "-A", "-t", "-F", "\t",
                "-v", "ON_ERROR_STOP=1", "-d", db, "-U", user, "-c", sql]
        env = dict(os.environ)
        if password is not None:
            argv += ["-h", "127.0.0.1", "-p", str(self.port)]
            env["PGPASSWORD"] = password
        else:
            argv += ["-h", self.sock, "-p", str(self.port)]
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, env=env, timeout=120)
        out = p.stdout.decode("utf-8", "replace")
        if check_rc and p.returncode != 0:
            raise Failure("psql %r: exit %d: %s" % (sql[:200], p.returncode, out[-2000:]))
        return p.returncode, out

    def rows(self, sql, **kw):
        return [line.split("\t") for line in self.psql(sql, **kw)[1].splitlines() if line]

    def load_schema(self):
        argv = [os.path.join(self.bin, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
                "postgres", "-U", "hq_admin", "-h", self.sock, "-p", str(self.port), "-f", SCHEMA]
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=120)
        check(p.returncode == 0, "hq/schema.sql loads: %s" % p.stdout.decode()[-2000:])

    def add_branch(self, branch_id, password=None):
        """A branch's login (role br_<id>); the conninfo its [uplink] takes."""
        role = "br_" + branch_id.lower().replace("-", "_")
        password = password or "pw-" + branch_id
        self.psql("SELECT hq.add_branch('%s', '%s', '%s')" % (branch_id, role, password))
        return self.conninfo(role, password)

    def conninfo(self, user, password):
        return "host=127.0.0.1 port=%d dbname=postgres user=%s password=%s" % (
            self.port, user, password)

    def add_analyst(self, name="analyst", password="pw-analyst"):
        self.psql("CREATE ROLE %s LOGIN PASSWORD '%s' IN ROLE hq_analyst" % (name, password))
        return name, password


def available():
    return bool(glob.glob("/usr/lib/postgresql/*/bin/postgres")) and shutil.which("runuser")
