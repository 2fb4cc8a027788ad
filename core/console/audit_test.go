package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
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

// Admin actions are audited first, then carried out through the REST API
// with the admin's token; bad bodies are refused before either.
func TestActionsAreAuditedAndGoThroughREST(t *testing.T) {
	_, nc := bustest.Start(t)
	var calls []string
	rest := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls = append(calls, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusCreated)
	})
	log := new(memory.Audit)
	c, err := console.New(console.Options{NATS: nc, Audit: log, REST: rest, Authenticate: func(*http.Request) (auth.Claims, error) {
		return auth.Claims{UserID: "ops", Admin: true}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()
	post := func(path, ct, body string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tt := range []struct{ path, ct, body string }{
		{"/console/api/channels", "text/plain", `{"id":"x"}`},
		{"/console/api/channels", "application/json", `{"id":"bad id"}`},
		{"/console/api/channels", "application/json", `{"id":"dm:a:b"}`},
		{"/console/api/channels", "application/json", `{"id":"x","members":[""]}`},
		{"/console/api/channels", "application/json", `{"id":"x","extra":1}`},
		{"/console/api/channels", "application/json", `{"id":`},
		{"/console/api/sends", "application/json", `{"channel":"x"}`},
		{"/console/api/sends", "application/json", `{"channel":"bad id","msg_id":"m"}`},
	} {
		if code := post(tt.path, tt.ct, tt.body); code != http.StatusBadRequest {
			t.Errorf("POST %s %s: %d, want 400", tt.path, tt.body, code)
		}
	}
	if len(calls) != 0 {
		t.Fatalf("refused actions reached REST: %v", calls)
	}
	if code := post("/console/api/channels", "application/json", `{"id":"ops-room","members":["alice","bob"]}`); code != 200 {
		t.Fatalf("create: %d", code)
	}
	if code := post("/console/api/sends", "application/json", `{"channel":"ops-room","msg_id":"m1"}`); code != 204 {
		t.Fatalf("send: %d", code)
	}
	want := []string{"POST /v1/channels Bearer tok", "POST /v1/channels/ops-room/members Bearer tok",
		"POST /v1/channels/ops-room/members Bearer tok"}
	if strings.Join(calls, "|") != strings.Join(want, "|") {
		t.Errorf("REST calls %v, want %v", calls, want)
	}
	recs, _ := log.AuditRecords(context.Background(), 0, 10)
	if len(recs) != 2 || recs[1].Action != "action.create_channel" || recs[1].Detail != "alice,bob" ||
		recs[0].Action != "action.send" || recs[0].Detail != "m1" {
		t.Errorf("audit %+v", recs)
	}
}
