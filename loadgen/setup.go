package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/salamhq/salam/internal/auth"
)

// setupConcurrency bounds the REST requests of a run's setup in flight.
const setupConcurrency = 16

// restClient calls the target's chat REST API (core/chat/openapi.yaml) as
// any loadgen user: it mints each user's token from the run's secret, or
// sends the one static token.
type restClient struct {
	base          string // http(s)://host:port
	secret, token string
	hc            *http.Client
}

func newRESTClient(wsURL, secret, token string, timeout time.Duration) (*restClient, error) {
	u, err := url.Parse(wsURL)
	if err != nil {
		return nil, fmt.Errorf("loadgen: url: %w", err)
	}
	u.Scheme = strings.Replace(u.Scheme, "ws", "http", 1)
	u.Path, u.RawQuery = "", ""
	return &restClient{base: u.String(), secret: secret, token: token, hc: &http.Client{Timeout: timeout}}, nil
}

// do sends method path with body (JSON) as user, decodes a JSON answer
// into out (when not nil) and returns an error unless the status is one of
// ok.
func (c *restClient) do(ctx context.Context, user, method, path string, body, out any, ok ...int) error {
	token := c.token
	if c.secret != "" {
		token = mintToken(c.secret, user)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("loadgen: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if !slices.Contains(ok, resp.StatusCode) {
		detail, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("loadgen: %s %s as %s: %s %s", method, path, user, resp.Status, bytes.TrimSpace(detail))
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("loadgen: %s %s: answer: %w", method, path, err)
		}
	}
	return nil
}

// mintToken mints an hour's token for user; the secret was validated with
// the options, so minting cannot fail.
func mintToken(secret, user string) string {
	token, _ := auth.MintHS256(secret, user, time.Hour, "", "")
	return token
}

// ensureChannel creates the broadcast channel as a public broadcast channel
// owned by the publisher, so that any number of loadgen users may subscribe
// without being members. A channel that already exists (409) is used as it
// is.
func ensureChannel(ctx context.Context, c *restClient, owner, channel string) error {
	body := map[string]any{"id": channel, "name": "loadgen " + channel, "kind": "broadcast", "public": true}
	return c.do(ctx, owner, http.MethodPost, "/v1/channels", body, nil, http.StatusCreated, http.StatusConflict)
}

// openDMs opens the DM of each pair of users (2k, 2k+1), k < pairs, and
// returns their channels in pair order. A DM that exists is reused.
func openDMs(ctx context.Context, c *restClient, pairs int) ([]string, error) {
	rooms := make([]string, pairs)
	err := forEach(ctx, pairs, func(ctx context.Context, k int) error {
		var ch struct{ ID string }
		err := c.do(ctx, userName(2*k), http.MethodPost, "/v1/dms", map[string]string{"user": userName(2*k + 1)}, &ch,
			http.StatusOK, http.StatusCreated)
		rooms[k] = ch.ID
		return err
	})
	return rooms, err
}

// createGroups creates groups of size users each, k < n: group k is
// "lg-<run>-<k>", owned by its first user, users k·size … k·size+size-1,
// with a member cap of size. It returns their channels in group order.
func createGroups(ctx context.Context, c *restClient, n, size int, runID int64) ([]string, error) {
	rooms := make([]string, n)
	prefix := "lg-" + strconv.FormatInt(runID, 36) + "-"
	err := forEach(ctx, n, func(ctx context.Context, k int) error {
		id, owner := prefix+strconv.Itoa(k), userName(k*size)
		body := map[string]any{"id": id, "kind": "group", "name": "loadgen " + id, "member_cap": size}
		if err := c.do(ctx, owner, http.MethodPost, "/v1/channels", body, nil, http.StatusCreated, http.StatusConflict); err != nil {
			return err
		}
		for m := 1; m < size; m++ {
			member := map[string]string{"user": userName(k*size + m)}
			if err := c.do(ctx, owner, http.MethodPost, "/v1/channels/"+id+"/members", member, nil,
				http.StatusCreated, http.StatusOK); err != nil {
				return err
			}
		}
		rooms[k] = id
		return nil
	})
	return rooms, err
}

// forEach calls fn(k) for k < n, setupConcurrency at a time, and returns
// the first error (the others are cancelled).
func forEach(ctx context.Context, n int, fn func(ctx context.Context, k int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, setupConcurrency) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				if err := fn(ctx, k); err != nil {
					cancel(err)
				}
			}
		}()
	}
	for k := 0; k < n && ctx.Err() == nil; k++ {
		select {
		case next <- k:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}
