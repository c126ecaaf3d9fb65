// Command lq sends one Livestatus query to a socket and prints the answer:
// a small operator's tool, used by the demo.
//
//	lq -s tmp/run/liveproxy/site1 'GET hosts' 'Columns: name state'
//
// Each argument is one line of the query. With -fixed16 (the default) the
// status code and length are shown on stderr and a non-200 code exits 1.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"liveproxyd/livestatus"
)

func main() {
	sock := flag.String("s", "", "socket: a UNIX socket path, or tcp:HOST:PORT")
	fixed16 := flag.Bool("fixed16", true, "ask for ResponseHeader: fixed16 and check the status code")
	timeout := flag.Duration("timeout", 30*time.Second, "give up after this long")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: lq -s SOCKET [flags] 'GET table' ['Header: value' ...]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *sock == "" || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	code, err := run(*sock, flag.Args(), *fixed16, *timeout, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lq:", err)
		os.Exit(1)
	}
	if code != 200 {
		os.Exit(1)
	}
}

func run(sock string, lines []string, fixed16 bool, timeout time.Duration, out io.Writer) (int, error) {
	network, addr := "unix", sock
	if rest, ok := strings.CutPrefix(sock, "tcp:"); ok {
		network, addr = "tcp", rest
	}
	conn, err := net.DialTimeout(network, addr, timeout)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	var q bytes.Buffer
	for _, l := range lines {
		q.WriteString(l + "\n")
	}
	if fixed16 {
		q.WriteString("ResponseHeader: fixed16\n")
	}
	q.WriteString("\n")
	if _, err := conn.Write(q.Bytes()); err != nil {
		return 0, err
	}
	if !fixed16 {
		_, err := io.Copy(out, conn)
		return 200, err
	}
	h, body, err := livestatus.ReadAnswer(conn)
	if err != nil {
		return 0, err
	}
	if h.Code != 200 {
		fmt.Fprintf(os.Stderr, "lq: status %d\n", h.Code)
	}
	_, err = out.Write(body)
	return h.Code, err
}
