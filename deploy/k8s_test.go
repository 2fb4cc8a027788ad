package deploy_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/salamhq/salam/tuning"
)

// The parts of Kubernetes objects the checks read. Decoding ignores the rest.
type (
	meta struct {
		Name      string            `yaml:"name"`
		Namespace string            `yaml:"namespace"`
		Labels    map[string]string `yaml:"labels"`
	}
	object struct {
		APIVersion string            `yaml:"apiVersion"`
		Kind       string            `yaml:"kind"`
		Metadata   meta              `yaml:"metadata"`
		Data       map[string]string `yaml:"data"` // ConfigMap
		node       *yaml.Node
	}
	workload struct { // Deployment, DaemonSet
		Metadata meta `yaml:"metadata"`
		Spec     struct {
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
			Template struct {
				Metadata meta    `yaml:"metadata"`
				Spec     podSpec `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	podSpec struct {
		HostNetwork                   bool              `yaml:"hostNetwork"`
		NodeSelector                  map[string]string `yaml:"nodeSelector"`
		TerminationGracePeriodSeconds *int              `yaml:"terminationGracePeriodSeconds"`
		SecurityContext               struct {
			RunAsNonRoot *bool `yaml:"runAsNonRoot"`
			Sysctls      []struct {
				Name  string `yaml:"name"`
				Value string `yaml:"value"`
			} `yaml:"sysctls"`
		} `yaml:"securityContext"`
		InitContainers []container `yaml:"initContainers"`
		Containers     []container `yaml:"containers"`
		Volumes        []struct {
			Name      string `yaml:"name"`
			ConfigMap *struct {
				Name string `yaml:"name"`
			} `yaml:"configMap"`
		} `yaml:"volumes"`
	}
	container struct {
		Name    string   `yaml:"name"`
		Image   string   `yaml:"image"`
		Command []string `yaml:"command"`
		Args    []string `yaml:"args"`
		Env     []struct {
			Name      string `yaml:"name"`
			Value     string `yaml:"value"`
			ValueFrom *struct {
				SecretKeyRef *struct {
					Name     string `yaml:"name"`
					Key      string `yaml:"key"`
					Optional *bool  `yaml:"optional"`
				} `yaml:"secretKeyRef"`
			} `yaml:"valueFrom"`
		} `yaml:"env"`
		EnvFrom []any `yaml:"envFrom"`
		Ports   []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
			HostPort      int    `yaml:"hostPort"`
		} `yaml:"ports"`
		ReadinessProbe *probe `yaml:"readinessProbe"`
		LivenessProbe  *probe `yaml:"livenessProbe"`
		StartupProbe   *probe `yaml:"startupProbe"`
		Resources      struct {
			Requests map[string]string `yaml:"requests"`
			Limits   map[string]string `yaml:"limits"`
		} `yaml:"resources"`
		SecurityContext *struct {
			Privileged               *bool `yaml:"privileged"`
			AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
			ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
			RunAsUser                *int  `yaml:"runAsUser"`
			Capabilities             *struct {
				Drop []string `yaml:"drop"`
			} `yaml:"capabilities"`
		} `yaml:"securityContext"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
	}
	probe struct {
		HTTPGet *struct {
			Path string `yaml:"path"`
			Port any    `yaml:"port"`
		} `yaml:"httpGet"`
	}
	service struct {
		Spec struct {
			Type                  string            `yaml:"type"`
			ClusterIP             string            `yaml:"clusterIP"`
			ExternalTrafficPolicy string            `yaml:"externalTrafficPolicy"`
			Selector              map[string]string `yaml:"selector"`
			Ports                 []struct {
				Name       string `yaml:"name"`
				TargetPort any    `yaml:"targetPort"`
			} `yaml:"ports"`
		} `yaml:"spec"`
	}
	pdb struct {
		Spec struct {
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
		} `yaml:"spec"`
	}
)

// salamImage is the image name the manifests use for the salam binary; an
// overlay's `kustomize edit set image salam=…` points it at a registry.
const salamImage = "salam"

// otherImages are the only other images a manifest may run.
var otherImages = []string{"registry.k8s.io/pause:3.10"}

// k8sFS is deploy/k8s in memory, at /k8s, plus one overlay per region with
// the other edge variant swapped in (regions/<r>-swapped), as README says
// an operator may do.
func k8sFS(t *testing.T) filesys.FileSystem {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	root := abs("k8s")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return mem.WriteFile(path.Join("/k8s", filepath.ToSlash(rel)), b)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range regions {
		k := readFile(t, abs("k8s/regions/"+r+"/kustomization.yaml"))
		swapped := strings.NewReplacer("components/edge-hostnetwork", "components/edge-loadbalancer",
			"components/edge-loadbalancer", "components/edge-hostnetwork").Replace(k)
		if swapped == k {
			t.Fatalf("regions/%s names no edge variant component", r)
		}
		dir := "/k8s/regions/" + r + "-swapped/"
		mem.WriteFile(dir+"kustomization.yaml", []byte(swapped))
		mem.WriteFile(dir+"salam.yaml", []byte(readFile(t, abs("k8s/regions/"+r+"/salam.yaml"))))
	}
	return mem
}

// render runs kustomize build on dir, as `kubectl apply -k` would.
func render(t *testing.T, fsys filesys.FileSystem, dir string) []object {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fsys, dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(out))
	var objs []object
	for {
		var n yaml.Node
		if err := dec.Decode(&n); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		var o object
		if err := n.Decode(&o); err != nil {
			t.Fatal(err)
		}
		o.node = &n
		objs = append(objs, o)
	}
	return objs
}

func toYAML(t *testing.T, v any) string {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func decodeAs[T any](t *testing.T, o object) T {
	t.Helper()
	var v T
	if err := o.node.Decode(&v); err != nil {
		t.Fatalf("%s %s: %v", o.Kind, o.Metadata.Name, err)
	}
	return v
}

// secretKeys reads the keys of a region's secrets.example.env.
func secretKeys(t *testing.T, r string) map[string]bool {
	t.Helper()
	name := abs("k8s/regions/" + r + "/secrets.example.env")
	text := readFile(t, name)
	checkResidency(t, name, r, text)
	keys := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" || v == "" {
			t.Errorf("%s: %q is not KEY=VALUE", name, line)
		}
		keys[k] = true
	}
	return keys
}

// TestKustomizeOverlays renders each region overlay, and each with the other
// edge variant swapped in, and checks the result against the binary and the
// tuning profile; see checkRender.
func TestKustomizeOverlays(t *testing.T) {
	fsys := k8sFS(t)
	for _, r := range regions {
		t.Run(r, func(t *testing.T) {
			plain := render(t, fsys, "/k8s/regions/"+r)
			swapped := render(t, fsys, "/k8s/regions/"+r+"-swapped")
			edges := map[string]container{}
			for _, objs := range [][]object{plain, swapped} {
				kind, edge := checkRender(t, r, objs)
				edges[kind] = edge
			}
			// The two variants run the same edge: only the host port differs.
			ds, dep := edges["DaemonSet"], edges["Deployment"]
			for i := range ds.Ports {
				ds.Ports[i].HostPort = 0
			}
			if a, b := toYAML(t, ds), toYAML(t, dep); a != b {
				t.Errorf("the edge container of edge-hostnetwork and edge-loadbalancer differ:\n%s---\n%s", a, b)
			}
		})
	}
}

// checkRender checks one rendered overlay of region r and returns the kind
// of its edge workload and its edge container.
func checkRender(t *testing.T, r string, objs []object) (string, container) {
	t.Helper()
	cli := loadCLI(t)
	profile := edgeProfile(t)
	secrets := secretKeys(t, r)
	usedSecrets := map[string]bool{}
	byKind := map[string][]object{}
	seen := map[string]bool{}
	for _, o := range objs {
		id := o.Kind + "/" + o.Metadata.Name
		if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
			t.Errorf("object without apiVersion, kind or metadata.name: %+v", o)
		}
		if seen[id] {
			t.Errorf("%s twice", id)
		}
		seen[id] = true
		if o.Kind != "Namespace" && o.Metadata.Namespace != "salam" {
			t.Errorf("%s in namespace %q, want salam", id, o.Metadata.Namespace)
		}
		if o.Metadata.Labels["salam.io/region"] != r {
			t.Errorf("%s lacks label salam.io/region=%s", id, r)
		}
		if o.Kind == "Secret" {
			t.Errorf("%s: secrets are created from secrets.example.env, never rendered from the repository", id)
		}
		byKind[o.Kind] = append(byKind[o.Kind], o)
	}
	for _, want := range []string{"Namespace/salam", "Deployment/salam-core", "Service/salam-core", "Service/salam-edge",
		"PodDisruptionBudget/salam-edge", "PodDisruptionBudget/salam-core"} {
		if !seen[want] {
			t.Errorf("no %s", want)
		}
	}
	configMaps := map[string]map[string]string{}
	for _, o := range byKind["ConfigMap"] {
		configMaps[o.Metadata.Name] = o.Data
	}

	// Workloads and their pods.
	workloads := map[string]workload{}
	var edgeKind string
	var edge container
	for _, kind := range []string{"Deployment", "DaemonSet"} {
		for _, o := range byKind[kind] {
			w := decodeAs[workload](t, o)
			workloads[kind+"/"+o.Metadata.Name] = w
			if o.Metadata.Name == "salam-edge" {
				edgeKind = kind
			}
		}
	}
	if edgeKind == "" {
		t.Fatal("no salam-edge Deployment or DaemonSet")
	}
	for id, w := range workloads {
		pod := w.Spec.Template.Spec
		labels := w.Spec.Template.Metadata.Labels
		if !subset(w.Spec.Selector.MatchLabels, labels) || len(w.Spec.Selector.MatchLabels) == 0 {
			t.Errorf("%s: selector %v does not select its pods %v", id, w.Spec.Selector.MatchLabels, labels)
		}
		if labels["salam.io/region"] != r {
			t.Errorf("%s: pods lack label salam.io/region=%s", id, r)
		}
		checkSysctls(t, id, pod, profile)
		for i, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
			init := i < len(pod.InitContainers)
			where := fmt.Sprintf("%s container %s", id, c.Name)
			checkResources(t, where, c)
			if c.Image != salamImage {
				if !slices.Contains(otherImages, c.Image) || len(c.Args)+len(c.Command) > 0 {
					t.Errorf("%s: image %q args %v: only %q runs commands (others: %v)", where, c.Image, c.Args, salamImage, otherImages)
				}
				continue
			}
			if len(c.Command) > 0 {
				t.Errorf("%s: command %v overrides the image's entrypoint (salam)", where, c.Command)
			}
			inv, err := cli.parse(c.Args)
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			privileged := c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged
			switch {
			case inv.command == "tuning apply":
				if !init || !privileged || !pod.HostNetwork || inv.args[0] != profile.Name {
					t.Errorf("%s: tuning runs as a privileged init container in the host's network with profile %s", where, profile.Name)
				}
				continue
			case privileged || init:
				t.Errorf("%s: only `salam tuning apply` runs privileged or as an init container", where)
			}
			checkHardened(t, where, c, pod)
			checkEnv(t, where, c, cli, secrets, usedSecrets)
			cfg := checkConfigMount(t, where, inv, c, pod, configMaps, r)
			checkProbes(t, where, c, cli, cfg)
			if g := pod.TerminationGracePeriodSeconds; g == nil || *g != int(stopGrace.Seconds()) {
				t.Errorf("%s: terminationGracePeriodSeconds %v, want %v (drain_timeout + margin)", where, g, stopGrace)
			}
			if id == edgeKind+"/salam-edge" && c.Name == "edge" {
				if inv.command != "edge" {
					t.Errorf("%s runs salam %s", where, inv.command)
				}
				edge = c
			}
			if id == "Deployment/salam-core" && inv.command != "core" {
				t.Errorf("%s runs salam %s", where, inv.command)
			}
		}
	}
	for k := range secrets {
		if !usedSecrets[k] {
			t.Errorf("secrets.example.env key %s is used by no container", k)
		}
	}
	checkEdgeTuning(t, workloads[edgeKind+"/salam-edge"], workloads)

	// Services select pods and name their ports.
	for _, o := range byKind["Service"] {
		s := decodeAs[service](t, o)
		var target *workload
		for _, w := range workloads {
			if len(s.Spec.Selector) > 0 && subset(s.Spec.Selector, w.Spec.Template.Metadata.Labels) {
				target = &w
			}
		}
		if target == nil {
			t.Errorf("Service %s selects no pods", o.Metadata.Name)
			continue
		}
		for _, p := range s.Spec.Ports {
			if !hasPort(target.Spec.Template.Spec.Containers, p.TargetPort) {
				t.Errorf("Service %s: targetPort %v is no container port", o.Metadata.Name, p.TargetPort)
			}
		}
		if s.Spec.Type == "LoadBalancer" && s.Spec.ExternalTrafficPolicy != "Local" {
			t.Errorf("Service %s: externalTrafficPolicy Local keeps client addresses (per-address limits)", o.Metadata.Name)
		}
	}
	// Every edge and core workload has exactly one disruption budget.
	for id, w := range workloads {
		if w.Spec.Template.Metadata.Labels["app.kubernetes.io/component"] == "" {
			continue
		}
		n := 0
		for _, o := range byKind["PodDisruptionBudget"] {
			if sel := decodeAs[pdb](t, o).Spec.Selector.MatchLabels; len(sel) > 0 && subset(sel, w.Spec.Template.Metadata.Labels) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s is covered by %d PodDisruptionBudgets, want 1", id, n)
		}
	}
	return edgeKind, edge
}

func subset(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func hasPort(cs []container, port any) bool {
	for _, c := range cs {
		for _, p := range c.Ports {
			if p.Name == port || p.ContainerPort == port {
				return true
			}
		}
	}
	return false
}

func checkResources(t *testing.T, where string, c container) {
	t.Helper()
	if c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" {
		t.Errorf("%s: wants cpu and memory requests and a memory limit, has %+v", where, c.Resources)
	}
}

func checkHardened(t *testing.T, where string, c container, pod podSpec) {
	t.Helper()
	sc := c.SecurityContext
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) {
		t.Errorf("%s: want allowPrivilegeEscalation false, readOnlyRootFilesystem true, capabilities drop ALL", where)
	}
	if pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot || (sc != nil && sc.RunAsUser != nil && *sc.RunAsUser == 0) {
		t.Errorf("%s: salam runs as non-root", where)
	}
}

// checkEnv: SALAM_* variables the binary reads, secrets only through
// secretKeyRef to keys of the Secret salam that secrets.example.env declares.
func checkEnv(t *testing.T, where string, c container, cli salamCLI, secrets, used map[string]bool) {
	t.Helper()
	if len(c.EnvFrom) > 0 {
		t.Errorf("%s: envFrom would hand every key to every container; name each variable", where)
	}
	secretVars := []string{"SALAM_AUTH_SECRET", "SALAM_NATS_URL", "SALAM_POSTGRES_URL", "SALAM_REDIS_ADDR"}
	for _, e := range c.Env {
		if strings.HasPrefix(e.Name, "SALAM_") && !cli.env[e.Name] {
			t.Errorf("%s: %s is no variable of cmd/salam/config.go (%v)", where, e.Name, keys(cli.env))
		}
		var ref = struct{ name, key string }{}
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			s := e.ValueFrom.SecretKeyRef
			ref.name, ref.key = s.Name, s.Key
			if s.Optional != nil && *s.Optional {
				t.Errorf("%s: %s is optional; a missing secret must stop the pod", where, e.Name)
			}
		}
		switch {
		case ref.name == "" && slices.Contains(secretVars, e.Name):
			t.Errorf("%s: %s must come from the Secret, not the manifest", where, e.Name)
		case ref.name == "":
		case ref.name != "salam" || !secrets[ref.key]:
			t.Errorf("%s: %s from secret %s key %s, which secrets.example.env does not declare", where, e.Name, ref.name, ref.key)
		default:
			used[ref.key] = true
		}
	}
}

// checkConfigMount: --config names a file of a ConfigMap mounted in the
// container, and that ConfigMap holds the region's salam.yaml. It returns
// the decoded config.
func checkConfigMount(t *testing.T, where string, inv invocation, c container, pod podSpec, cms map[string]map[string]string, r string) salamConfig {
	t.Helper()
	file := inv.flags["config"]
	if file == "" {
		t.Errorf("%s: no --config", where)
		return salamConfig{}
	}
	dir, base := path.Split(file)
	for _, m := range c.VolumeMounts {
		if path.Clean(m.MountPath) != path.Clean(dir) {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name != m.Name || v.ConfigMap == nil {
				continue
			}
			text, ok := cms[v.ConfigMap.Name][base]
			if !ok {
				t.Errorf("%s: ConfigMap %s has no %s", where, v.ConfigMap.Name, base)
				return salamConfig{}
			}
			if want := readFile(t, abs("k8s/regions/"+r+"/salam.yaml")); text != want {
				t.Errorf("%s: %s is not regions/%s/salam.yaml", where, file, r)
			}
			return decodeSalamConfig(t, where+" "+file, text)
		}
	}
	t.Errorf("%s: --config %s is not on a mounted ConfigMap", where, file)
	return salamConfig{}
}

// checkProbes: readiness on /readyz, liveness on /healthz (both served by
// the binary's operations mux), on the port the config listens on.
func checkProbes(t *testing.T, where string, c container, cli salamCLI, cfg salamConfig) {
	t.Helper()
	if c.StartupProbe != nil {
		t.Errorf("%s: unexpected startupProbe", where)
	}
	listen := cfg.Edge.Listen
	if listen == "" {
		listen = ":8080"
	}
	if v, ok := inv(cli, c)["listen"]; ok {
		listen = v
	}
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		t.Fatalf("%s: listen %q: %v", where, listen, err)
	}
	for name, want := range map[string]struct {
		p    *probe
		path string
	}{"readiness": {c.ReadinessProbe, "/readyz"}, "liveness": {c.LivenessProbe, "/healthz"}} {
		p := want.p
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s: no HTTP %s probe", where, name)
			continue
		}
		if p.HTTPGet.Path != want.path || !cli.ops[p.HTTPGet.Path] {
			t.Errorf("%s: %s probe on %s, want %s (served: %v)", where, name, p.HTTPGet.Path, want.path, keys(cli.ops))
		}
		found := false
		for _, cp := range c.Ports {
			if (cp.Name == p.HTTPGet.Port || cp.ContainerPort == p.HTTPGet.Port) && fmt.Sprint(cp.ContainerPort) == port {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: %s probe port %v is not the container port of listen %s", where, name, p.HTTPGet.Port, listen)
		}
	}
}

func inv(cli salamCLI, c container) map[string]string {
	i, _ := cli.parse(c.Args)
	return i.flags
}

// checkSysctls: pod sysctls are edge-50k's and satisfy it; in the host's
// network namespace Kubernetes refuses net.* pod sysctls altogether.
func checkSysctls(t *testing.T, id string, pod podSpec, p *tuning.Profile) {
	t.Helper()
	for _, s := range pod.SecurityContext.Sysctls {
		if pod.HostNetwork && strings.HasPrefix(s.Name, "net.") {
			t.Errorf("%s: sysctl %s with hostNetwork (the kubelet refuses it; the host is tuned instead)", id, s.Name)
		}
		e := profileEntry(t, p, tuning.Sysctl, s.Name)
		if ok, err := e.Rule.Satisfied(s.Value, e.Value); err != nil || !ok {
			t.Errorf("%s: sysctl %s=%s does not meet %s %s %s (%v)", id, s.Name, s.Value, p.Name, e.Rule, e.Value, err)
		}
	}
}

// checkEdgeTuning: an edge in the host's network tunes its host itself in an
// init container; an edge in the pod network sets the per-namespace listener
// sysctls on its pod, and a host-network DaemonSet on the same nodes applies
// the profile's host-wide part.
func checkEdgeTuning(t *testing.T, edge workload, all map[string]workload) {
	t.Helper()
	pod := edge.Spec.Template.Spec
	if pod.NodeSelector["salam.io/edge"] != "true" {
		t.Error("edge pods run on edge nodes (nodeSelector salam.io/edge=true), which are the tuned ones")
	}
	tunes := func(p podSpec) bool {
		for _, c := range p.InitContainers {
			if slices.Equal(c.Args, []string{"tuning", "apply", "edge-50k"}) {
				return true
			}
		}
		return false
	}
	if pod.HostNetwork {
		if !tunes(pod) {
			t.Error("host-network edge without a tuning init container")
		}
		return
	}
	var names []string
	for _, s := range pod.SecurityContext.Sysctls {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	if want := []string{"net.core.somaxconn", "net.ipv4.tcp_max_syn_backlog"}; !slices.Equal(names, want) {
		t.Errorf("pod-network edge sets sysctls %v, want %v (its listener's backlog)", names, want)
	}
	for _, w := range all {
		p := w.Spec.Template.Spec
		if p.HostNetwork && tunes(p) && maps.Equal(p.NodeSelector, pod.NodeSelector) {
			return
		}
	}
	t.Error("no host-network tuning DaemonSet on the edge nodes")
}
