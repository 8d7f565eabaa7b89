//! The flags that set an audit's [`AuditConfig`]: each maps onto one field, and every
//! default shown in `--help` is read from the library's own (`AuditConfig::default()`), so
//! none is written here. `mialab settings` prints what the flags resolve to.

use anyhow::Result;
use mialab::attack::{InputNormalization, LiraVariance, QuantileScore, RmiaA};
use mialab::config::AuditConfig;
use mialab::defence::Defence;
use mialab::engine::BackendChoice;
use mialab::model::OutputKindChoice;

fn defaults() -> AuditConfig {
    AuditConfig::default()
}

/// How the models are queried and their outputs read.
#[derive(clap::Args, Clone, Debug)]
pub struct SignalArgs {
    /// Whether the model outputs logits or probabilities.
    #[arg(long, value_enum, default_value_t = defaults().signals.output_kind)]
    output_kind: OutputKindChoice,
    /// Softmax temperature.
    #[arg(long, default_value_t = defaults().signals.temperature)]
    temperature: f64,
    /// Output defence the target's API applies to every answer (repeat or comma-separate to
    /// chain, in order): top1 (label only), topk:K, round:D, temperature:T, noise:SIGMA.
    #[arg(long = "defence", value_name = "DEFENCE", value_delimiter = ',', value_parser = parse_defence)]
    defences: Vec<Defence>,
    /// Engine that runs the models: auto (the wgpu kernels on a hardware GPU where the model
    /// lowers, else the CPU as with cpu, saying why), cpu (mialab's CPU kernels where the model
    /// lowers, else tract), tract (tract always), gpu (the kernels on any adapter, software
    /// ones included; an error if the model does not lower or there is no adapter).
    #[arg(long, value_enum, default_value_t = defaults().signals.backend)]
    backend: BackendChoice,
    /// Records per inference call.
    #[arg(long, default_value_t = defaults().signals.batch_size)]
    batch_size: usize,
    /// Images: LiRA also queries the mirrored image and averages the scores.
    #[arg(long)]
    augment_flip: bool,
    /// Images: LiRA also queries every shift of up to this many pixels (0, 1 or 2; reflect
    /// padding) and averages the scores.
    #[arg(long, value_name = "PIXELS", default_value_t = defaults().signals.augmentations.shift)]
    augment_shift: usize,
}

fn parse_defence(text: &str) -> std::result::Result<Defence, String> {
    text.parse()
        .map_err(|e: mialab::defence::DefenceError| e.to_string())
}

/// Which attacks run, with what settings, and how they are measured.
#[derive(clap::Args, Clone, Debug)]
pub struct AttackArgs {
    /// Attacks to run (repeat or comma-separate); default: every one the inputs allow.
    #[arg(long = "attack", value_name = "NAME", value_delimiter = ',')]
    attacks: Vec<String>,
    /// Seed of every random choice.
    #[arg(long, default_value_t = defaults().seed)]
    seed: u64,
    #[command(flatten)]
    params: AttackParamArgs,
    /// Bootstrap resamples for the AUC interval (at least 200).
    #[arg(long, default_value_t = defaults().metrics.bootstrap_resamples)]
    bootstrap: usize,
    /// Significance level of confidence intervals.
    #[arg(long, default_value_t = defaults().metrics.alpha)]
    alpha: f64,
    /// δ of the empirical ε lower bound.
    #[arg(long, default_value_t = defaults().metrics.delta)]
    delta: f64,
    /// Fraction of members among those attacked, for PPV.
    #[arg(long, default_value_t = defaults().metrics.member_prior)]
    member_prior: f64,
}

/// Settings of the attacks that have any.
#[derive(clap::Args, Clone, Debug)]
pub struct AttackParamArgs {
    /// LiRA's variance: fixed (one σ for all records) below 64 reference models, per record above.
    #[arg(long, value_enum, default_value_t = defaults().params.lira.variance)]
    lira_variance: LiraVariance,
    /// Offline RMIA's a in [0, 1], or "tune" to choose it on reference model 0 as a stand-in target.
    #[arg(long, value_name = "A|tune", default_value_t = defaults().params.rmia.a)]
    rmia_a: RmiaA,
    /// RMIA's likelihood-ratio threshold γ.
    #[arg(long, default_value_t = defaults().params.rmia.gamma)]
    rmia_gamma: f64,
    /// L2 penalty of the Shokri attack's logistic regressions.
    #[arg(long, default_value_t = defaults().params.shokri.l2)]
    shokri_l2: f64,
    /// Newton iterations of the Shokri attack's logistic regressions (at most).
    #[arg(long, default_value_t = defaults().params.shokri.max_iterations)]
    shokri_iterations: u64,
    /// The input normalisation real records get, for the encoding attacks (the paper's code
    /// hashes un-normalised records and shows the network the encoded query itself):
    /// model:MEAN:STD when the ONNX model normalises its input, records:MEAN:STD when the
    /// records are given normalised; MEAN and STD one value, one per channel or one per value.
    #[arg(long, value_name = "WHERE:MEAN:STD")]
    code_poison_normalization: Option<InputNormalization>,
    /// Noisy copies per tabular record for the label-only attack (images use 18 flips/shifts).
    #[arg(long, default_value_t = defaults().params.label_only.queries)]
    label_only_queries: usize,
    /// Label-only noise, in standard deviations of each feature.
    #[arg(long, default_value_t = defaults().params.label_only.sigma)]
    label_only_sigma: f64,
    /// The target's score the quantile-regression attack's regressor predicts.
    #[arg(long, value_enum, default_value_t = defaults().params.quantile.score)]
    quantile_score: QuantileScore,
    /// The most epochs the quantile regressor trains (it stops when its held-out fifth of
    /// the population stops improving).
    #[arg(long, default_value_t = defaults().params.quantile.epochs)]
    quantile_epochs: usize,
    /// The quantile regressor's learning rate (AdamW).
    #[arg(long, default_value_t = defaults().params.quantile.learning_rate)]
    quantile_lr: f64,
    /// Quantile regressors trained with different random streams and pooled (their mixture's
    /// mean and spread).
    #[arg(long, default_value_t = defaults().params.quantile.ensemble)]
    quantile_ensemble: usize,
}

impl SignalArgs {
    /// Writes these flags into `config`.
    pub fn apply(&self, config: &mut AuditConfig) {
        let s = &mut config.signals;
        s.output_kind = self.output_kind;
        s.temperature = self.temperature;
        s.defences = self.defences.clone();
        s.backend = self.backend;
        s.batch_size = self.batch_size;
        s.augmentations.flip = self.augment_flip;
        s.augmentations.shift = self.augment_shift;
    }
}

impl AttackArgs {
    /// Writes these flags into `config`.
    pub fn apply(&self, config: &mut AuditConfig) {
        config.attacks = self.attacks.clone();
        config.seed = self.seed;
        self.params.apply(config);
        let m = &mut config.metrics;
        m.bootstrap_resamples = self.bootstrap;
        m.alpha = self.alpha;
        m.delta = self.delta;
        m.member_prior = self.member_prior;
    }
}

impl AttackParamArgs {
    /// Writes these flags into `config`.
    pub fn apply(&self, config: &mut AuditConfig) {
        let p = &mut config.params;
        p.lira.variance = self.lira_variance;
        p.rmia.a = self.rmia_a;
        p.rmia.gamma = self.rmia_gamma;
        p.shokri.l2 = self.shokri_l2;
        p.shokri.max_iterations = self.shokri_iterations;
        p.code_poison.normalization = self.code_poison_normalization.clone();
        p.label_only.queries = self.label_only_queries;
        p.label_only.sigma = self.label_only_sigma;
        p.quantile.score = self.quantile_score;
        p.quantile.epochs = self.quantile_epochs;
        p.quantile.learning_rate = self.quantile_lr;
        p.quantile.ensemble = self.quantile_ensemble;
    }
}

/// `mialab settings`: the audit settings the flags resolve to, as the JSON the page sends.
#[derive(clap::Args)]
pub struct SettingsArgs {
    #[command(flatten)]
    signals: SignalArgs,
    #[command(flatten)]
    attacks: AttackArgs,
}

pub fn print(args: &SettingsArgs) -> Result<()> {
    let mut config = AuditConfig::default();
    args.signals.apply(&mut config);
    args.attacks.apply(&mut config);
    config.validate().map_err(mialab::Error::from)?;
    print!("{}", config.to_json());
    Ok(())
}
