package console

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/salamhq/salam/core/presence"
	"github.com/salamhq/salam/internal/auth"
	"github.com/salamhq/salam/internal/observe"
)

// askWindow is how long the console gathers the edges' answers.
const askWindow = 500 * time.Millisecond

// askEdges publishes a question to every edge and gathers the answers that
// arrive within askWindow (only edges with something to say answer).
func askEdges[T any](ctx context.Context, c *Console, subject, body string) ([]T, error) {
	inbox := c.nc.NewRespInbox()
	sub, err := c.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	if err := c.nc.PublishRequest(subject, inbox, []byte(body)); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, askWindow)
	defer cancel()
	var out []T
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return out, nil // the window closed
		}
		var v T
		if json.Unmarshal(m.Data, &v) == nil {
			out = append(out, v)
		}
	}
}

// user shows a user: presence (raw, invisible included: this is the
// operator's view), and on every edge holding them their connections and
// publish rate-limit state. The view is audited.
func (c *Console) user(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := presence.ValidID("user", id); err != nil || len(id) > auth.MaxSubjectLen {
		writeProblem(w, http.StatusBadRequest, "id: a user id of 1–%d bytes", auth.MaxSubjectLen)
		return
	}
	if !noParams(w, r) || !c.audited(w, r, "view.user", id) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	out := map[string]any{"user": id}
	if c.presence != nil {
		states, err := c.presence.Get(ctx, []string{id})
		if err != nil {
			writeProblem(w, http.StatusServiceUnavailable, "presence: %v", err)
			return
		}
		st := states[0]
		out["presence"] = map[string]any{"online": st.Online, "last_seen": st.LastSeen, "status": st.Status, "invisible": st.Invisible}
	}
	edges, err := askEdges[observe.UserConnections](ctx, c, observe.InspectUserSubject, id)
	if err != nil {
		writeProblem(w, http.StatusServiceUnavailable, "bus: %v", err)
		return
	}
	if edges == nil {
		edges = []observe.UserConnections{}
	}
	out["edges"] = edges
	writeJSON(w, out)
}

// channelView is a channel as the inspect view shows it.
type channelView struct {
	ID                string                       `json:"id"`
	Kind              string                       `json:"kind"`
	Name              string                       `json:"name"`
	Public            bool                         `json:"public"`
	MemberCap         int                          `json:"member_cap"`
	CreatedBy         string                       `json:"created_by"`
	CreatedAt         time.Time                    `json:"created_at"`
	LastSeq           uint64                       `json:"last_seq"`
	Members           []memberView                 `json:"members"` // the first 100
	SubscribersByEdge []observe.ChannelSubscribers `json:"subscribers_by_edge"`
	Calls             []callView                   `json:"calls,omitempty"` // the last 10, newest first
}

// callView is one call of a channel: live (no ended_at) or in history.
type callView struct {
	ID           string     `json:"id"`
	Caller       string     `json:"caller"`
	Node         string     `json:"node"`
	SFU          bool       `json:"sfu"`
	CreatedAt    time.Time  `json:"created_at"`
	AnsweredAt   *time.Time `json:"answered_at,omitempty"`
	EndedAt      *time.Time `json:"ended_at,omitempty"`
	EndReason    string     `json:"end_reason,omitempty"`
	Participants []string   `json:"participants"`
}

type memberView struct {
	User         string    `json:"user"`
	Role         string    `json:"role"`
	JoinedAt     time.Time `json:"joined_at"`
	ReadSeq      uint64    `json:"read_seq"`
	DeliveredSeq uint64    `json:"delivered_seq"`
}
