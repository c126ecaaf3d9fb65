package main

import "testing"

func TestProcsChoosesFlagThenEnvironmentThenOne(t *testing.T) {
	const cpus, current = 8, 3
	for _, tc := range []struct {
		flag string // "" : not given
		env  string
		want int
	}{
		{"", "", defaultProcs},
		{"", "3", current}, // the runtime applied $GOMAXPROCS already
		{"2", "", 2},
		{"2", "3", 2}, // the flag wins
		{"0", "", cpus},
		{"0", "3", cpus},
	} {
		var f procsFlag
		if tc.flag != "" {
			if err := f.Set(tc.flag); err != nil {
				t.Fatal(err)
			}
		}
		if got := procs(f, tc.env, cpus, current); got != tc.want {
			t.Errorf("--procs %q, GOMAXPROCS=%q: %d, want %d", tc.flag, tc.env, got, tc.want)
		}
	}
	if defaultProcs != 1 {
		t.Errorf("defaultProcs = %d; the daemon relays, one P measured cheapest (procs.go)", defaultProcs)
	}
}

func TestProcsFlagRejectsNonNumbers(t *testing.T) {
	for _, v := range []string{"-1", "two", "", "1.5"} {
		var f procsFlag
		if err := f.Set(v); err == nil {
			t.Errorf("--procs %q accepted as %d", v, f.n)
		}
	}
}
