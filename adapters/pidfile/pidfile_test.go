package pidfile

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"liveproxyd/internal/testutil"
)

func TestAcquireAndRelease(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "liveproxyd.pid")
	f, err := Acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	if pid, err := Read(path); err != nil || pid != os.Getpid() {
		t.Fatalf("pid file says %d, %v", pid, err)
	}
	if err := f.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("pid file left: %v", err)
	}
}

// fakeDaemon runs a process whose executable is named liveproxyd (a copy
// of sleep), so IsLiveproxyd sees it as one.
func fakeDaemon(t *testing.T) int {
	t.Helper()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	data, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(t.TempDir(), "liveproxyd")
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd.Process.Pid
}

func TestAcquireRefusesALiveLiveproxydThatDoesNotLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "liveproxyd.pid")
	other := fakeDaemon(t)
	os.WriteFile(path, []byte(fmt.Sprintf("%d\n", other)), 0o644)
	if _, err := Acquire(path); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("Acquire over a live liveproxyd: %v", err)
	}
	if pid, _ := Read(path); pid != other {
		t.Fatal("the live daemon's pid file was replaced")
	}
}

func TestAcquireTakesOverAPidReusedByAnotherProgram(t *testing.T) {
	sleeper := exec.Command("sleep", "30")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() }()
	for _, pid := range []int{1, sleeper.Process.Pid} {
		path := filepath.Join(t.TempDir(), "liveproxyd.pid")
		os.WriteFile(path, []byte(fmt.Sprintf("%d\n", pid)), 0o644)
		f, err := Acquire(path)
		if err != nil {
			t.Fatalf("a stale file naming live non-liveproxyd pid %d blocks the start: %v", pid, err)
		}
		if got, _ := Read(path); got != os.Getpid() {
			t.Fatalf("pid file says %d", got)
		}
		f.Release()
	}
}

func TestAcquireRefusesWhileTheLockIsHeldEvenBeforeThePidIsWritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "liveproxyd.pid")
	// Another daemon that has taken the lock but not yet written its pid:
	// the file is empty, which the old code took for stale.
	holder, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if err := syscall.Flock(int(holder.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(path); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("Acquire while the lock is held: %v", err)
	}
	if !exists(path) {
		t.Fatal("the holder's pid file was removed")
	}
	// The lock ends with its holder (here: its descriptor).
	holder.Close()
	f, err := Acquire(path)
	if err != nil {
		t.Fatalf("after the holder is gone: %v", err)
	}
	f.Release()
}

func TestSecondAcquireInTheSameProcessFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "liveproxyd.pid")
	f, err := Acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	if _, err := Acquire(path); err == nil {
		t.Fatal("a second Acquire of a held pid file succeeded")
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func TestAcquireReplacesStaleAndGarbage(t *testing.T) {
	exited := exec.Command("true")
	if err := exited.Run(); err != nil {
		t.Fatal(err)
	}
	for _, content := range []string{fmt.Sprintf("%d\n", exited.Process.Pid), "garbage", ""} {
		path := filepath.Join(t.TempDir(), "liveproxyd.pid")
		os.WriteFile(path, []byte(content), 0o644)
		f, err := Acquire(path)
		if err != nil {
			t.Fatalf("over %q: %v", content, err)
		}
		if pid, _ := Read(path); pid != os.Getpid() {
			t.Fatalf("over %q: pid file says %d", content, pid)
		}
		f.Release()
	}
}

func TestReleaseKeepsAnotherProcessesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "liveproxyd.pid")
	f, err := Acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, []byte("1\n"), 0o644) // someone else took over
	f.Release()
	if pid, _ := Read(path); pid != 1 {
		t.Fatal("Release removed a pid file that was not ours")
	}
}

func TestAliveTreatsZombieAsGone(t *testing.T) {
	sleeper := exec.Command("sleep", "30")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() }()
	if !Alive(sleeper.Process.Pid) {
		t.Fatal("a running process is not alive")
	}
	// A child that exited and is not waited for stays a zombie.
	z := exec.Command("true")
	if err := z.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = z.Wait() }()
	testutil.WaitFor(t, "the exited child, a zombie, to count as not alive", func() bool { return !Alive(z.Process.Pid) })
}
