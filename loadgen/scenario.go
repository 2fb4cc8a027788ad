package loadgen

import "sort"

// Scenario names.
const (
	ScenarioIdle      = "idle"
	ScenarioBroadcast = "broadcast"
	ScenarioFanout    = "fanout" // broadcast under its first name
	ScenarioDM        = "dm"
	ScenarioChat      = "chat"
	ScenarioPresence  = "presence"
	ScenarioReconnect = "reconnect"
)

// roomKind is how a scenario groups its users into channels that the
// controller creates over REST before the ramp.
type roomKind int

const (
	roomNone  roomKind = iota // no rooms (idle, reconnect) or one shared channel (broadcast)
	roomPair                  // dm: pairs of users, each pair a DM channel
	roomGroup                 // chat, presence: groups of RoomSize members
)

// scenario describes how the controller and the workers run one scenario.
type scenario struct {
	rooms roomKind
	// subscribe: every connection subscribes to Options.Channel (broadcast).
	subscribe bool
	// workerPhase: the active phase runs in the workers: the controller
	// sends start to each and waits until each reports done.
	workerPhase bool
	// settle: settle before the active phase even without a target PID.
	settle bool
	// latency is the report key of the latency the status line and the
	// time series follow.
	latency string
}

var scenarios = map[string]scenario{
	ScenarioIdle:      {settle: true, latency: "connect_ms"},
	ScenarioBroadcast: {subscribe: true, latency: "delivery_ms"},
	ScenarioFanout:    {subscribe: true, latency: "delivery_ms"},
	ScenarioDM:        {rooms: roomPair, workerPhase: true, latency: "delivery_ms"},
	ScenarioChat:      {rooms: roomGroup, workerPhase: true, latency: "delivery_ms"},
	ScenarioPresence:  {rooms: roomGroup, workerPhase: true, settle: true, latency: "presence_ms"},
	ScenarioReconnect: {workerPhase: true, latency: "recovery_ms"},
}

// Scenarios returns the names of the scenarios, sorted.
func Scenarios() []string {
	names := make([]string, 0, len(scenarios))
	for name := range scenarios {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
