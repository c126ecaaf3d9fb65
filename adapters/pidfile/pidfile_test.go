package pidfile

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

func TestAcquireRefusesALiveProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "liveproxyd.pid")
	// pid 1 always exists.
	os.WriteFile(path, []byte("1\n"), 0o644)
	if _, err := Acquire(path); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("Acquire over a live pid: %v", err)
	}
	if pid, _ := Read(path); pid != 1 {
		t.Fatal("the live process's pid file was replaced")
	}
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
	deadline := time.Now().Add(10 * time.Second)
	for Alive(z.Process.Pid) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if Alive(z.Process.Pid) {
		t.Fatal("a zombie counts as alive")
	}
}
