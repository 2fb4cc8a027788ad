package redis

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/salamhq/salam/core/presence"
	"github.com/salamhq/salam/storage/presencetest"
)

// TestClusterContract runs the contract suites on a one-node Redis Cluster
// started for the test. A Cluster refuses any command or script whose keys
// span slots (CROSSSLOT), and rueidis's cluster client refuses to build one,
// so passing here shows the key design is Cluster-safe.
func TestClusterContract(t *testing.T) {
	addr := startCluster(t)
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	presencetest.Run(t, func(t *testing.T) presence.Store {
		p, err := NewPresence(c, Options{Prefix: testPrefix(t, c)})
		if err != nil {
			t.Fatal(err)
		}
		return p
	})
	presencetest.RunLimiter(t, func(t *testing.T) presencetest.Limiter {
		l, err := NewLimiter(c, Options{Prefix: testPrefix(t, c)})
		if err != nil {
			t.Fatal(err)
		}
		return l
	})
}

// startCluster starts redis-server in cluster mode on a free port, gives it
// every slot, waits for cluster_state:ok and stops it at cleanup. Without
// redis-server in PATH the test is skipped (failed on CI, which installs it).
func startCluster(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server not in PATH on CI")
		}
		t.Skip("redis-server not in PATH")
	}
	if testing.Short() {
		t.Skip("starts a redis-server")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--cluster-enabled", "yes", "--cluster-config-file", dir+"/nodes.conf",
		"--dir", dir, "--save", "", "--appendonly", "no", "--logfile", dir+"/log")
	out := func() string { b, _ := os.ReadFile(dir + "/log"); return string(b) }
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	// Talk to the node directly until the cluster is up.
	var c rueidis.Client
	checkFor(t, 10*time.Second, func() error {
		c, err = rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, ForceSingleClient: true, DisableCache: true})
		return err
	}, out)
	defer c.Close()
	ctx := context.Background()
	slots := make([]int64, 16384)
	for i := range slots {
		slots[i] = int64(i)
	}
	if err := c.Do(ctx, c.B().ClusterAddslots().Slot(slots...).Build()).Error(); err != nil {
		t.Fatalf("CLUSTER ADDSLOTS: %v", err)
	}
	checkFor(t, 10*time.Second, func() error {
		info, err := c.Do(ctx, c.B().ClusterInfo().Build()).ToString()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return fmt.Errorf("cluster not ok: %s", info)
		}
		return nil
	}, out)
	return addr
}

// checkFor polls f until it returns nil or timeout passes.
func checkFor(t *testing.T, timeout time.Duration, f func() error, log func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v\nredis-server output:\n%s", timeout, err, log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
