package observe

// NATS subjects of the console's data. They are under the "salam." prefix
// that the bus grants.
const (
	// WatchSubject: the console publishes here (empty body) every second
	// while at least one page is open; Reporters report while they hear it.
	WatchSubject = "salam.console.watch"
	// StatsSubject: Reporters publish their Snapshot (JSON) here.
	StatsSubject = "salam.console.stats"
	// SpansSubject: Tracers publish finished spans (JSON Span) here.
	SpansSubject = "salam.console.spans"
	// AuditSubject: the console publishes every audit record here.
	AuditSubject = "salam.console.audit"
	// InspectChannelSubject: the console asks every edge for its local
	// subscribers of a channel (body: the channel id); each edge answers
	// with a ChannelSubscribers (JSON) reply.
	InspectChannelSubject = "salam.console.inspect.channel"
)
