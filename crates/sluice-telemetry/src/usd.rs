//! A Prometheus counter family for money: totals are kept as exact integer pico-USD and
//! rendered in USD at scrape time, so `sluice_cost_usd_total` equals the sum of per-request
//! costs exactly instead of drifting with float additions.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use prometheus::core::{Collector, Desc};
use prometheus::proto::{Counter, LabelPair, Metric, MetricFamily, MetricType};

use crate::pricing::to_usd;

/// Cheap to clone; clones share the totals (one is registered, one is used).
#[derive(Clone)]
pub struct UsdCounterVec {
    desc: Arc<Desc>,
    label_names: Arc<Vec<String>>,
    totals: Arc<Mutex<BTreeMap<Vec<String>, u128>>>,
}

impl UsdCounterVec {
    pub fn new(
        name: &str,
        help: &str,
        labels: &[&str],
    ) -> Result<UsdCounterVec, prometheus::Error> {
        let label_names: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
        let desc = Desc::new(
            name.into(),
            help.into(),
            label_names.clone(),
            Default::default(),
        )?;
        Ok(UsdCounterVec {
            desc: Arc::new(desc),
            label_names: Arc::new(label_names),
            totals: Arc::new(Mutex::new(BTreeMap::new())),
        })
    }

    pub fn add(&self, label_values: &[&str], pico: u128) {
        let key: Vec<String> = label_values.iter().map(|s| s.to_string()).collect();
        *self
            .totals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_insert(0) += pico;
    }

    /// The exact total for one label set, in pico-USD.
    pub fn get(&self, label_values: &[&str]) -> u128 {
        let key: Vec<String> = label_values.iter().map(|s| s.to_string()).collect();
        self.totals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .copied()
            .unwrap_or(0)
    }
}

impl Collector for UsdCounterVec {
    fn desc(&self) -> Vec<&Desc> {
        vec![self.desc.as_ref()]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let totals = self.totals.lock().unwrap_or_else(|e| e.into_inner());
        let mut family = MetricFamily::default();
        family.set_name(self.desc.fq_name.clone());
        family.set_help(self.desc.help.clone());
        family.set_field_type(MetricType::COUNTER);
        let mut metrics = Vec::with_capacity(totals.len());
        for (values, &pico) in totals.iter() {
            // Prometheus wants label pairs sorted by name.
            let mut pairs: Vec<LabelPair> = self
                .label_names
                .iter()
                .zip(values)
                .map(|(n, v)| {
                    let mut p = LabelPair::default();
                    p.set_name(n.clone());
                    p.set_value(v.clone());
                    p
                })
                .collect();
            pairs.sort_by(|a, b| a.name().cmp(b.name()));
            let mut counter = Counter::default();
            counter.set_value(to_usd(pico));
            let mut m = Metric::default();
            m.set_label(pairs);
            m.set_counter(counter);
            metrics.push(m);
        }
        family.set_metric(metrics);
        vec![family]
    }
}
