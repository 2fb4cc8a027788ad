// Package deploy holds no code: its files are Kubernetes manifests (k8s/), NATS
// configs (nats/) and systemd units (systemd/) for running Salam in production;
// README.md explains them. The package exists so that `go test ./...` checks
// those files offline, without kubectl: the kustomize overlays render, container
// arguments and environment use real salam subcommands, flags and SALAM_*
// variables, probes hit the paths the binary serves, sysctls and file limits
// match the edge tuning profile, and the NATS configs load in nats-server and
// carry Salam's subjects across a leaf node on loopback.
//
// Owns: the deployment files and their tests. Must not: hold Go code that
// anything imports.
package deploy
