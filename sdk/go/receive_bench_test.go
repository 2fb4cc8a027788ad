package salam_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	salam "github.com/salamhq/salam/sdk/go"
)

// publisherEnv makes the test binary a publisher (see runPublisher): the
// benchmark's process then only receives, so its allocation count is the
// receive path's alone.
const publisherEnv = "SALAM_SDK_PUBLISHER"

// BenchmarkReceive measures a client receiving live messages from a real
// salam up: allocations per received message (handler included, which
// only counts). Run with a fixed count, e.g.
//
//	go test -run '^$' -bench Receive -benchtime 20000x ./   (in sdk/go)
func BenchmarkReceive(b *testing.B) {
	up := startSalam(b, b.TempDir(), "up", "--listen", "127.0.0.1:0")
	pubTok, recvTok := up.token(b, "pub"), up.token(b, "recv")
	up.group(b, "bench", pubTok, recvTok)

	var got atomic.Int64
	done := make(chan struct{})
	want := int64(b.N)
	r := new(recorder)
	c := dial(b, up.url(), recvTok, r, func(cfg *salam.Config) {
		cfg.OnMessage = func(salam.Message) {
			if got.Add(1) == want {
				close(done)
			}
		}
	})
	ctx := ctxFor(b, 5*time.Minute)
	if err := c.Subscribe(ctx, "bench"); err != nil {
		b.Fatal(err)
	}
	pub := exec.Command(os.Args[0], "-test.run=^$")
	pub.Env = append(os.Environ(), publisherEnv+"="+strings.Join([]string{up.url(), pubTok, "bench", strconv.Itoa(b.N)}, "|"))
	pub.Stderr = os.Stderr
	start, _ := pub.StdinPipe()
	ready, _ := pub.StdoutPipe()
	if err := pub.Start(); err != nil {
		b.Fatal(err)
	}
	defer pub.Wait()
	bufio.NewReader(ready).ReadString('\n') // connected

	b.ReportAllocs()
	b.ResetTimer()
	start.Write([]byte("go\n"))
	select {
	case <-done:
	case <-ctx.Done():
		b.Fatalf("received %d of %d", got.Load(), b.N)
	}
	b.StopTimer()
	start.Close()
}

// runPublisher publishes n messages with 32 in flight once "go" arrives on
// stdin. Arguments come in publisherEnv: url|token|channel|n.
func runPublisher() int {
	args := strings.Split(os.Getenv(publisherEnv), "|")
	n, _ := strconv.Atoi(args[3])
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := salam.Dial(ctx, salam.Config{URL: args[0], Token: salam.StaticToken(args[1])})
	if err != nil {
		fmt.Fprintln(os.Stderr, "publisher:", err)
		return 1
	}
	defer c.Close()
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString('\n')
	body := []byte(strings.Repeat("x", 100))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if _, err := c.Publish(ctx, args[2], salam.Publication{Data: body}); err != nil {
					fmt.Fprintln(os.Stderr, "publisher:", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return 0
}
