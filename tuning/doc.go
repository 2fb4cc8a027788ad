// Package tuning holds the kernel, file-limit and NIC settings Salam's
// hosts need, as declarative profiles embedded in the binary
// (profiles/*.yaml: edge-50k, edge-1m, sfu, ingest), and checks a host
// against them, applies their sysctls and explains each value.
//
// Every entry of a profile has a kind (sysctl, ulimit, systemd, nic), a key,
// the wanted value, a comparison rule (at_least, at_most, equal,
// range_covers, triple_at_least; advice for NIC entries) and a why that
// derives the value from the load it is sized for. Values are floors, not
// targets: a host already beyond one satisfies it, and Apply never lowers
// it.
//
// What it owns: the profiles, [Check] (read-only, unprivileged: /proc/sys,
// getrlimit, `systemctl show`), [Apply] (writes sysctls only, through a
// [Writer]; root for the real /proc/sys), [Explain] and the text formats
// `salam tuning` prints. Hosts are behind the [Host] interface, with
// [System] for this machine and [MemHost] for tests.
//
// What it must not do: change anything but sysctls (file limits, systemd
// units and NIC settings are reported with a "how", never changed), write
// to the real /proc/sys from a test, or fail a check on a NIC entry or on
// something that does not apply here (conntrack not loaded, no systemd, the
// unit not installed). A value it cannot read is "unreadable" and counts
// as a failure: a check that could not look must not say the host is fine.
package tuning
