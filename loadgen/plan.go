package loadgen

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// Plan defaults: the workload assumptions a plan states when the caller
// gives none.
const (
	DefaultUtilisation   = 0.6  // a node is planned full at 60 % of its memory and CPU
	DefaultNodeMemoryGiB = 16   // memory of one edge node
	DefaultNodeCores     = 8    // cores of one edge node
	DefaultSendsPerUser  = 0.01 // messages per online user per second (one every 100 s)
	DefaultRecipients    = 5    // online receivers of one message
	DefaultDeliveryBytes = 600  // a 500-byte message (product spec) with envelope and framing
)

// PlanOptions are the target and the assumptions of a plan. Zero fields
// take the defaults above; Users is required.
type PlanOptions struct {
	Users           int     // concurrent users to serve
	Utilisation     float64 // share of a node's memory and CPU the plan fills, (0, 1]
	NodeMemoryGiB   float64
	NodeCores       float64
	SendsPerUser    float64 // messages each online user sends per second
	Recipients      float64 // online receivers of one message
	DeliveryBytes   int     // bytes on the wire per delivery
	MaxConnsPerNode int     // cap on connections per node; 0: none
}

// NamedReport is a measured report and the name the plan cites it by.
type NamedReport struct {
	Name string
	*Report
}

// ReadReport reads a report written by Run.
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("loadgen: report %s: %w", path, err)
	}
	return &r, nil
}

// planFigures are the per-node figures a plan takes from reports: the
// worst of each over the reports that measured it, and the CPU cost of
// messages and deliveries.
type planFigures struct {
	rssPerConn, baseRSS float64 // bytes
	cpuPerConn          float64 // cores per open connection
	rssFrom, cpuFrom    string  // how each was derived, for the plan's text
	baseFrom            string

	// The target's CPU seconds per acked message and per delivery: a
	// message is stored once and delivered to each recipient, so
	// cpu = cpuPerMsg × messages + cpuPerDelivery × deliveries.
	cpuPerMsg, cpuPerDelivery float64
	costFrom                  string
	points                    []costPoint
}

// costPoint is what one message report measured.
type costPoint struct {
	name                 string
	messages, deliveries float64
	cpu                  float64 // target CPU seconds over the active phase
}

// figures extracts the plan's inputs from the reports: memory and CPU per
// connection from idle reports, the cost of messages and deliveries from
// the message scenarios. Each needs the target process to have been
// sampled.
func figures(reports []NamedReport) (planFigures, error) {
	var f planFigures
	for _, r := range reports {
		switch r.Scenario {
		case ScenarioIdle:
			if r.RSSPerConnBytes <= 0 || r.TargetCPUSeconds <= 0 || r.ActiveS <= 0 || r.ConnectionsOpened <= 0 {
				return f, fmt.Errorf("loadgen plan: %s: an idle report needs rss_per_conn_bytes, target_cpu_seconds and active_s (run it with --target-pid)", r.Name)
			}
			if rss := float64(r.RSSPerConnBytes); rss > f.rssPerConn {
				f.rssPerConn = rss
				f.rssFrom = fmt.Sprintf("%s: (%s B − %s B) / %d connections", r.Name,
					num(float64(r.RSSAfterBytes)), num(float64(r.RSSBeforeBytes)), r.ConnectionsOpened)
			}
			if base := float64(r.RSSBeforeBytes); base > f.baseRSS {
				f.baseRSS, f.baseFrom = base, r.Name+": rss before the ramp"
			}
			if cpu := r.TargetCPUSeconds / (float64(r.ConnectionsOpened) * r.ActiveS); cpu > f.cpuPerConn {
				f.cpuPerConn = cpu
				f.cpuFrom = fmt.Sprintf("%s: %s cpu s / (%d connections × %s s)", r.Name, num(r.TargetCPUSeconds), r.ConnectionsOpened, num(r.ActiveS))
			}
		case ScenarioBroadcast, ScenarioFanout, ScenarioChat, ScenarioDM:
			if r.TargetCPUSeconds <= 0 || r.MessagesReceived <= 0 || r.MessagesAcked <= 0 {
				return f, fmt.Errorf("loadgen plan: %s: a %s report needs messages_acked, messages_received and target_cpu_seconds (run it with --target-pid)", r.Name, r.Scenario)
			}
			f.points = append(f.points, costPoint{name: r.Name, messages: float64(r.MessagesAcked),
				deliveries: float64(r.MessagesReceived), cpu: r.TargetCPUSeconds})
		default:
			return f, fmt.Errorf("loadgen plan: %s: a %s report has no figure a plan uses", r.Name, r.Scenario)
		}
	}
	switch {
	case f.rssPerConn == 0:
		return f, errors.New("loadgen plan: no idle report: memory and CPU per connection come from one")
	case len(f.points) == 0:
		return f, errors.New("loadgen plan: no broadcast, fanout, chat or dm report: the cost of deliveries comes from one")
	}
	f.fitCost()
	return f, nil
}

// fitCost finds the cost of a message and of a delivery: by least squares
// over the message reports when they differ enough in deliveries per
// message (a dm report and a broadcast report, say) and the fit is
// meaningful (no negative cost); otherwise all the CPU is charged to
// deliveries, at the worst report's rate.
func (f *planFigures) fitCost() {
	var mm, md, dd, mc, dc float64
	for _, p := range f.points {
		// float64() keeps each product rounded (no fused multiply-add), so
		// the plan is the same on every architecture.
		mm += float64(p.messages * p.messages)
		md += float64(p.messages * p.deliveries)
		dd += float64(p.deliveries * p.deliveries)
		mc += float64(p.messages * p.cpu)
		dc += float64(p.deliveries * p.cpu)
	}
	if det := float64(mm*dd) - float64(md*md); len(f.points) >= 2 && det > 1e-9*float64(mm*dd) {
		a := (float64(mc*dd) - float64(md*dc)) / det
		b := (float64(mm*dc) - float64(md*mc)) / det
		if a >= 0 && b > 0 {
			f.cpuPerMsg, f.cpuPerDelivery = a, b
			f.costFrom = "least squares of cpu = a × messages + b × deliveries over the reports above"
			return
		}
	}
	for _, p := range f.points {
		if c := p.cpu / p.deliveries; c > f.cpuPerDelivery {
			f.cpuPerMsg, f.cpuPerDelivery = 0, c
			f.costFrom = fmt.Sprintf("%s: %s cpu s / %s deliveries (the worst report)", p.name, num(p.cpu), num(p.deliveries))
		}
	}
}

// Plan writes the edge node count and the memory and bandwidth estimate
// for o.Users concurrent users, from the figures measured in reports, with
// every step of the arithmetic. Its output depends only on its inputs.
func Plan(w io.Writer, o PlanOptions, reports []NamedReport) error {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Utilisation, DefaultUtilisation)
	def(&o.NodeMemoryGiB, DefaultNodeMemoryGiB)
	def(&o.NodeCores, DefaultNodeCores)
	def(&o.SendsPerUser, DefaultSendsPerUser)
	def(&o.Recipients, DefaultRecipients)
	if o.DeliveryBytes == 0 {
		o.DeliveryBytes = DefaultDeliveryBytes
	}
	switch {
	case o.Users <= 0:
		return errors.New("loadgen plan: users must be positive")
	case o.Utilisation <= 0 || o.Utilisation > 1:
		return fmt.Errorf("loadgen plan: utilisation %g: want (0, 1]", o.Utilisation)
	case o.NodeMemoryGiB <= 0 || o.NodeCores <= 0 || o.SendsPerUser < 0 || o.Recipients < 0 || o.DeliveryBytes <= 0 || o.MaxConnsPerNode < 0:
		return errors.New("loadgen plan: node memory, node cores and delivery bytes must be positive; sends, recipients and the connection cap not negative")
	}
	f, err := figures(reports)
	if err != nil {
		return err
	}
	p := &planText{w: w}
	users := float64(o.Users)
	p.head("salam loadgen plan: %s concurrent users", num(users))

	p.section("inputs")
	p.row("users", num(users), "--users")
	p.row("utilisation", num(o.Utilisation), "--utilisation (headroom for peaks and failover)")
	p.row("node memory", num(o.NodeMemoryGiB)+" GiB", "--node-mem-gib")
	p.row("node cores", num(o.NodeCores), "--node-cores")
	p.row("sends per user per s", num(o.SendsPerUser), "--sends-per-user")
	p.row("recipients per message", num(o.Recipients), "--recipients")
	p.row("bytes per delivery", strconv.Itoa(o.DeliveryBytes)+" B", "--delivery-bytes")
	if o.MaxConnsPerNode > 0 {
		p.row("connections per node cap", strconv.Itoa(o.MaxConnsPerNode), "--max-conns-per-node")
	}

	p.section("measured (per connection: the worst idle report)")
	p.row("rss per connection", num(f.rssPerConn)+" B", f.rssFrom)
	p.row("rss of an idle process", num(f.baseRSS)+" B", f.baseFrom)
	p.row("cpu per connection", num(f.cpuPerConn)+" cores", f.cpuFrom)
	for _, pt := range f.points {
		p.row(pt.name, fmt.Sprintf("%s cpu s", num(pt.cpu)), fmt.Sprintf("%s messages, %s deliveries", num(pt.messages), num(pt.deliveries)))
	}
	if f.cpuPerMsg > 0 {
		p.row("cpu per message (a)", num(f.cpuPerMsg)+" s", f.costFrom)
		p.row("cpu per delivery (b)", num(f.cpuPerDelivery)+" s", "the same fit")
	} else {
		p.row("cpu per message (a)", "0 s", "not told apart: the reports' fan-outs do not differ enough")
		p.row("cpu per delivery (b)", num(f.cpuPerDelivery)+" s", f.costFrom)
	}

	p.section("memory")
	nodeMem := o.NodeMemoryGiB * (1 << 30)
	usable := math.Floor(nodeMem*o.Utilisation - f.baseRSS)
	p.row("usable per node", num(usable)+" B", fmt.Sprintf("%s GiB × 2^30 × %s − %s B", num(o.NodeMemoryGiB), num(o.Utilisation), num(f.baseRSS)))
	if usable <= 0 {
		return fmt.Errorf("loadgen plan: a node's usable memory (%s B) does not hold the idle process (%s B)", num(nodeMem*o.Utilisation), num(f.baseRSS))
	}
	connsMem := math.Floor(usable / f.rssPerConn)
	p.row("connections per node", num(connsMem), fmt.Sprintf("floor(%s B / %s B)", num(usable), num(f.rssPerConn)))
	nodesMem := math.Ceil(users / connsMem)
	p.row("nodes for memory", num(nodesMem), fmt.Sprintf("ceil(%s / %s)", num(users), num(connsMem)))

	p.section("cpu")
	messages := users * o.SendsPerUser
	p.row("messages per s", num(messages), fmt.Sprintf("%s × %s", num(users), num(o.SendsPerUser)))
	deliveries := messages * o.Recipients
	p.row("deliveries per s", num(deliveries), fmt.Sprintf("%s × %s", num(messages), num(o.Recipients)))
	coresMsg := messages * f.cpuPerMsg
	p.row("cores for messages", num(coresMsg), fmt.Sprintf("%s × a %s", num(messages), num(f.cpuPerMsg)))
	coresDel := deliveries * f.cpuPerDelivery
	p.row("cores for deliveries", num(coresDel), fmt.Sprintf("%s × b %s", num(deliveries), num(f.cpuPerDelivery)))
	coresConn := users * f.cpuPerConn
	p.row("cores for connections", num(coresConn), fmt.Sprintf("%s × %s", num(users), num(f.cpuPerConn)))
	cores := coresMsg + coresDel + coresConn
	p.row("cores in all", num(cores), fmt.Sprintf("%s + %s + %s", num(coresMsg), num(coresDel), num(coresConn)))
	perNode := o.NodeCores * o.Utilisation
	p.row("usable cores per node", num(perNode), fmt.Sprintf("%s × %s", num(o.NodeCores), num(o.Utilisation)))
	nodesCPU := math.Ceil(cores / perNode)
	p.row("nodes for cpu", num(nodesCPU), fmt.Sprintf("ceil(%s / %s)", num(cores), num(perNode)))

	p.section("nodes")
	nodes := max(nodesMem, nodesCPU, 1)
	formula := fmt.Sprintf("max(memory %s, cpu %s, 1)", num(nodesMem), num(nodesCPU))
	if o.MaxConnsPerNode > 0 {
		nodesCap := math.Ceil(users / float64(o.MaxConnsPerNode))
		nodes = max(nodes, nodesCap)
		formula = fmt.Sprintf("max(memory %s, cpu %s, cap ceil(%s / %d) = %s, 1)", num(nodesMem), num(nodesCPU), num(users), o.MaxConnsPerNode, num(nodesCap))
	}
	p.row("edge nodes", num(nodes), formula)

	p.section("per node")
	conns := math.Ceil(users / nodes)
	p.row("connections", num(conns), fmt.Sprintf("ceil(%s / %s)", num(users), num(nodes)))
	mem := f.baseRSS + conns*f.rssPerConn
	p.row("memory", gib(mem), fmt.Sprintf("%s B + %s × %s B, of %s GiB", num(f.baseRSS), num(conns), num(f.rssPerConn), num(o.NodeMemoryGiB)))
	p.row("cores", num(cores/nodes), fmt.Sprintf("%s / %s, of %s", num(cores), num(nodes), num(o.NodeCores)))
	out := deliveries * float64(o.DeliveryBytes) * 8 / nodes
	p.row("bandwidth out", mbit(out), fmt.Sprintf("%s deliveries/s × %d B × 8 / %s", num(deliveries), o.DeliveryBytes, num(nodes)))
	in := messages * float64(o.DeliveryBytes) * 8 / nodes
	p.row("bandwidth in", mbit(in), fmt.Sprintf("%s messages/s × %d B × 8 / %s", num(messages), o.DeliveryBytes, num(nodes)))

	p.section("cluster")
	p.row("memory", gib(mem*nodes), fmt.Sprintf("%s B × %s nodes", num(mem), num(nodes)))
	p.row("bandwidth out", mbit(out*nodes), fmt.Sprintf("%s × %s nodes", mbit(out), num(nodes)))
	p.row("bandwidth in", mbit(in*nodes), fmt.Sprintf("%s × %s nodes", mbit(in), num(nodes)))
	p.printf("\nThe figures are the target process's: measured on salam up they include core's work\n" +
		"(storage, presence) beside the edge's. Heartbeats, TCP/IP headers and TLS are not in the bandwidth.\n")
	return p.err
}

// planText writes the plan's aligned lines and keeps the first error.
type planText struct {
	w   io.Writer
	err error
}

func (p *planText) printf(format string, a ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, a...)
	}
}

func (p *planText) head(format string, a ...any) { p.printf(format+"\n", a...) }
func (p *planText) section(name string)          { p.printf("\n%s\n", name) }

func (p *planText) row(name, value, how string) {
	line := fmt.Sprintf("  %-28s %-16s %s", name, value, how)
	p.printf("%s\n", strings.TrimRight(line, " "))
}

// num formats v for the plan: whole numbers as they are, one decimal from
// 100 up, else 4 significant digits. strconv is exact and platform
// independent, so plans are reproducible byte for byte.
func num(v float64) string {
	switch {
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
}

func gib(b float64) string  { return strconv.FormatFloat(b/(1<<30), 'f', 2, 64) + " GiB" }
func mbit(b float64) string { return strconv.FormatFloat(b/1e6, 'f', 1, 64) + " Mbit/s" }
