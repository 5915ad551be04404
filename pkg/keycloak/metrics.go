package keycloak

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// clusterSizeMetric is the gauge a node's /metrics carries, where metrics
// are on (--metrics-enabled), for the members of the cluster it sees.
const clusterSizeMetric = "vendor_cluster_size"

// ClusterSize reads the cluster size a node sees from its management
// endpoint's /metrics. metrics is false where the node serves none
// (metrics off); size is 0 where they lack the gauge (a node that does not
// cluster has none).
func ClusterSize(ctx context.Context, hc *http.Client, managementURL string) (size int, metrics bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(managementURL, "/")+"/metrics", nil)
	if err != nil {
		return 0, false, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, false, fmt.Errorf("GET %s/metrics: %w", managementURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false, nil
	}
	size, _, err = parseClusterSize(io.LimitReader(resp.Body, 16<<20))
	return size, err == nil, err
}

// parseClusterSize finds the gauge in Prometheus' text format:
// `vendor_cluster_size{cache="…"} 3.0`; the largest value where several
// series carry it.
func parseClusterSize(r io.Reader) (int, bool, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	size, ok := 0, false
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, clusterSizeMetric) {
			continue
		}
		rest := strings.TrimPrefix(line, clusterSizeMetric)
		if rest != "" && rest[0] != '{' && rest[0] != ' ' {
			continue // another metric with this prefix
		}
		f := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		size, ok = max(size, int(v)), true
	}
	return size, ok, sc.Err()
}
