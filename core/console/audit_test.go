package console_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/salamhq/salam/core/console"
	"github.com/salamhq/salam/internal/auth"
	"github.com/salamhq/salam/internal/bus/bustest"
	"github.com/salamhq/salam/internal/observe"
	"github.com/salamhq/salam/storage/memory"
)

// Opening the console is recorded once per minute per admin, published
// on the audit subject, and listed by the audit route with a valid chain.
func TestAuditRecordsViews(t *testing.T) {
	_, nc := bustest.Start(t)
	published, err := nc.SubscribeSync(observe.AuditSubject)
	if err != nil {
		t.Fatal(err)
	}
	log := new(memory.Audit)
	c, err := console.New(console.Options{NATS: nc, Audit: log, Authenticate: func(*http.Request) (auth.Claims, error) {
		return auth.Claims{UserID: "ops", Admin: true}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()
	for range 3 {
		resp, err := http.Get(srv.URL + "/console/api/whoami")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("whoami: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	var got struct {
		Records []console.AuditRecord
		Chain   string
	}
	resp, err := http.Get(srv.URL + "/console/api/audit?limit=10")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if len(got.Records) != 1 || got.Records[0].Action != "console.open" || got.Records[0].Actor != "ops" || got.Chain != "ok" {
		t.Fatalf("audit = %+v", got)
	}
	m, err := published.NextMsg(5 * time.Second)
	var rec console.AuditRecord
	if err != nil || json.Unmarshal(m.Data, &rec) != nil || rec.Seq != 1 {
		t.Fatalf("published %v, %v", m, err)
	}
	for _, q := range []string{"before=0", "before=x", "limit=0", "limit=501", "other=1"} {
		resp, err := http.Get(srv.URL + "/console/api/audit?" + q)
		if err != nil || resp.StatusCode != http.StatusBadRequest {
			t.Errorf("audit?%s: %v %v", q, resp.StatusCode, err)
		}
		resp.Body.Close()
	}
}
