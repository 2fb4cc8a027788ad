package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// ensureChannel creates the fanout channel through the target's REST API as
// a public broadcast channel owned by the publisher, so that any number of
// loadgen users may subscribe without being members. A channel that already
// exists (409) is used as it is.
func ensureChannel(ctx context.Context, wsURL, token, channel string) error {
	u, err := url.Parse(wsURL)
	if err != nil {
		return fmt.Errorf("loadgen: url: %w", err)
	}
	u.Scheme = strings.Replace(u.Scheme, "ws", "http", 1)
	u.Path, u.RawQuery = "/v1/channels", ""
	body, _ := json.Marshal(map[string]any{"id": channel, "name": "loadgen " + channel, "kind": "broadcast", "public": true})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("loadgen: create channel %s: %w", channel, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusConflict {
		detail, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("loadgen: create channel %s: %s %s", channel, resp.Status, detail)
	}
	return nil
}
