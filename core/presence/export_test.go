package presence

// APIRoutes returns "METHOD /path" for every entry of the route table, for
// openapi_test.go (package presence_test) to compare with openapi.yaml.
func APIRoutes() []string {
	out := make([]string, len(routes))
	for i, rt := range routes {
		out[i] = rt.method + " " + rt.path
	}
	return out
}
