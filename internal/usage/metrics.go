package usage

import "github.com/prometheus/client_golang/prometheus"

// Collector returns a Prometheus collector of the ledger's counters (Stats),
// read at scrape time; the app registers it. Metric names begin with
// switchyard_usage_. No label carries a tenant, key or request.
func (l *Ledger) Collector() prometheus.Collector { return ledgerCollector{l} }

var (
	descEnqueued = prometheus.NewDesc("switchyard_usage_records_enqueued_total",
		"Usage records handed to the ledger (one per client request).", nil, nil)
	descWritten = prometheus.NewDesc("switchyard_usage_records_written_total",
		"Usage records written to the store straight from the queue.", nil, nil)
	descSpooled = prometheus.NewDesc("switchyard_usage_records_spooled_total",
		"Usage records written to the spool file: reason store_unavailable (the store failed or was backing off) or queue_full (the queue was full or the ledger had stopped).",
		[]string{"reason"}, nil)
	descReplayed = prometheus.NewDesc("switchyard_usage_records_replayed_total",
		"Usage records written to the store from the spool.", nil, nil)
	descDropped = prometheus.NewDesc("switchyard_usage_records_dropped_total",
		"Usage records lost: no spool configured, or the spool failed.", nil, nil)
	descStoreErrors = prometheus.NewDesc("switchyard_usage_store_errors_total",
		"Failed batch writes to the store.", nil, nil)
	descBadSpool = prometheus.NewDesc("switchyard_usage_spool_bad_lines_total",
		"Spool lines that did not decode (a torn write) and were skipped.", nil, nil)
	descQueued = prometheus.NewDesc("switchyard_usage_queue_depth",
		"Usage records waiting in the ledger's in-memory queue.", nil, nil)
)

type ledgerCollector struct{ l *Ledger }

func (c ledgerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descEnqueued, descWritten, descSpooled, descReplayed, descDropped, descStoreErrors, descBadSpool, descQueued} {
		ch <- d
	}
}

func (c ledgerCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.l.Stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(descEnqueued, s.Enqueued)
	counter(descWritten, s.Written)
	counter(descSpooled, s.Spooled, "store_unavailable")
	counter(descSpooled, s.Spilled, "queue_full")
	counter(descReplayed, s.Replayed)
	counter(descDropped, s.Dropped)
	counter(descStoreErrors, s.StoreErrors)
	counter(descBadSpool, s.BadSpool)
	ch <- prometheus.MustNewConstMetric(descQueued, prometheus.GaugeValue, float64(s.Queued))
}
