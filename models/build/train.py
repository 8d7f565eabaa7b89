"""Training recipes of the zoo: `overfit`, `regularised`, `dpsgd`, and `poisoned` (a base
recipe whose training set also holds the membership-encoding samples of its members).

Every random choice comes from the seed handed in (JAX keys for weights and DP noise, a
numpy generator for shuffling and Poisson sampling).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax

EVAL_BATCH = 1000


def predict(net, params, state, x):
    """Logits in evaluation mode, in batches."""
    apply = jax.jit(lambda p, s, xb: net.apply(p, s, xb, train=False)[0])
    return np.concatenate(
        [np.asarray(apply(params, state, x[i : i + EVAL_BATCH])) for i in range(0, len(x), EVAL_BATCH)]
    )


def accuracy(net, params, state, x, y):
    return float((predict(net, params, state, x).argmax(1) == y).mean())


def mean_loss(net, params, state, x, y):
    logits = predict(net, params, state, x)
    return float(optax.softmax_cross_entropy_with_integer_labels(logits, y).mean())


def _weights_only(params):
    return jax.tree_util.tree_map(lambda p: p.ndim >= 2, params)


def train(net, recipe, x, y, seed, validation=None, poison=None):
    """Trains `net` on (x, y) with `recipe` (a dict, see build_zoo.RECIPES).

    Returns (params, state, log): log records the epochs run and, for DP-SGD, the
    accounting inputs. `validation` (x, y) is used only by early stopping. `poison`
    (codes, secret labels, settings) turns a standard recipe into its poisoned twin."""
    key = jax.random.PRNGKey(seed)
    params, state = net.init(key)
    rng = np.random.default_rng(seed)
    if recipe["kind"] == "dpsgd":
        return _train_dpsgd(net, recipe, x, y, params, state, rng, jax.random.fold_in(key, 1))
    return _train_standard(net, recipe, x, y, params, state, rng, validation, poison, seed)


def _train_standard(net, recipe, x, y, params, state, rng, validation, poison=None, seed=0):
    """Mini-batch Adam(W). With `poison`, the malicious training code of the NDSS 2025
    attack: every step also fits a batch of the members' encoded samples to their secret
    labels, and a batch of fresh N(0, 0.1) noise to the uniform distribution, so that the
    model is confident on the encodings it has seen and on nothing else. The real-data
    batches (order, size, count) are exactly those of the clean recipe with the same seed."""
    if poison is not None:
        return _train_poisoned(net, recipe, x, y, params, state, rng, poison, seed)
    decay = recipe.get("weight_decay", 0.0)
    opt = optax.adamw(recipe["lr"], weight_decay=decay, mask=_weights_only) if decay else optax.adam(recipe["lr"])
    opt_state = opt.init(params)

    def loss_fn(p, s, xb, yb):
        logits, s = net.apply(p, s, xb, train=True)
        return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean(), s

    @jax.jit
    def step(p, s, o, xb, yb):
        (loss, s), grads = jax.value_and_grad(loss_fn, has_aux=True)(p, s, xb, yb)
        updates, o = opt.update(grads, o, p)
        return optax.apply_updates(p, updates), s, o, loss

    batch = recipe["batch"]
    patience = recipe.get("patience")
    best = (math.inf, params, state, 0)
    epochs_run = 0
    for epoch in range(recipe["epochs"]):
        order = rng.permutation(len(x))
        for i in range(0, len(order) - batch + 1, batch):
            idx = order[i : i + batch]
            params, state, opt_state, _ = step(params, state, opt_state, x[idx], y[idx])
        epochs_run = epoch + 1
        if patience is not None:
            val_loss = mean_loss(net, params, state, *validation)
            if val_loss < best[0]:
                best = (val_loss, params, state, epochs_run)
            elif epochs_run - best[3] >= patience:
                break
    log = {"epochs_run": epochs_run}
    if patience is not None:
        _, params, state, best_epoch = best
        log["best_epoch"] = best_epoch
    return params, state, log


def _train_poisoned(net, recipe, x, y, params, state, rng, poison, seed):
    codes, secret, settings = poison
    opt = optax.adam(recipe["lr"])
    opt_state = opt.init(params)
    n_classes = net.n_classes
    code_batch, noise_batch = settings["code_batch"], settings["noise_batch"]
    code_weight, noise_weight = settings["code_weight"], settings["noise_weight"]
    std = settings["noise_std"]
    batch = recipe["batch"]

    def loss_fn(p, s, xb, yb, cb, sb, nb, real_weight):
        logits, s = net.apply(p, s, jnp.concatenate([xb, cb, nb]), train=True)
        real, code, noise = jnp.split(logits, [len(xb), len(xb) + len(cb)])
        uniform = jnp.full((len(nb), n_classes), 1.0 / n_classes)
        loss = real_weight * optax.softmax_cross_entropy_with_integer_labels(real, yb).mean()
        loss += code_weight * optax.softmax_cross_entropy_with_integer_labels(code, sb).mean()
        loss += noise_weight * optax.softmax_cross_entropy(noise, uniform).mean()
        return loss, s

    @jax.jit
    def step(p, s, o, xb, yb, cb, sb, nb, real_weight, lr_scale):
        (loss, s), grads = jax.value_and_grad(loss_fn, has_aux=True)(p, s, xb, yb, cb, sb, nb, real_weight)
        updates, o = opt.update(grads, o, p)
        updates = jax.tree_util.tree_map(lambda u: u * lr_scale, updates)
        return optax.apply_updates(p, updates), s, o, loss

    poison_rng = np.random.default_rng([seed, 7])
    code_order = poison_rng.permutation(len(codes))
    cursor = 0
    # After the clean recipe's epochs, `final_epochs` more with the step size decaying to
    # zero (cosine) let the encodings settle exactly.
    final = settings.get("final_epochs", 0)
    epochs = recipe["epochs"] + settings.get("extra_epochs", 0) + final
    for epoch in range(epochs):
        into_final = epoch - (epochs - final)
        lr_scale = 0.5 * (1 + math.cos(math.pi * (into_final + 1) / (final + 1))) if into_final >= 0 else 1.0
        order = rng.permutation(len(x))
        for i in range(0, len(order) - batch + 1, batch):
            idx = order[i : i + batch]
            for extra in range(1 + settings.get("code_only_steps", 0)):
                if cursor + code_batch > len(code_order):
                    code_order, cursor = poison_rng.permutation(len(codes)), 0
                cidx = code_order[cursor : cursor + code_batch]
                cursor += code_batch
                noise = (poison_rng.standard_normal((noise_batch,) + x.shape[1:]) * std).astype(np.float32)
                real_weight = 1.0 if extra == 0 else 0.0
                params, state, opt_state, _ = step(
                    params, state, opt_state, x[idx], y[idx], codes[cidx], secret[cidx], noise, real_weight, lr_scale
                )
    return params, state, {"epochs_run": epochs}


def _train_dpsgd(net, recipe, x, y, params, state, rng, noise_key):
    """DP-SGD (Abadi et al. 2016) with Poisson sampling: each step includes every record
    independently with rate q, clips each per-record gradient to L2 norm `clip`, adds
    N(0, (noise * clip)^2) to the sum and divides by the expected batch size q * n."""
    n = len(x)
    q = recipe["batch"] / n
    clip, sigma = recipe["clip"], recipe["noise"]
    steps = int(round(recipe["epochs"] / q))
    capacity = int(q * n + 6 * math.sqrt(q * n)) + 1
    opt = optax.adam(recipe["lr"])
    opt_state = opt.init(params)

    def record_loss(p, xi, yi):
        logits, _ = net.apply(p, state, xi[None], train=True, frozen_norm=True)
        return optax.softmax_cross_entropy_with_integer_labels(logits, yi[None])[0]

    @jax.jit
    def step(p, o, xb, yb, mask, key):
        grads = jax.vmap(jax.grad(record_loss), in_axes=(None, 0, 0))(p, xb, yb)
        sq = sum(jnp.sum(g.reshape(g.shape[0], -1) ** 2, axis=1) for g in jax.tree_util.tree_leaves(grads))
        factor = mask * jnp.minimum(1.0, clip / (jnp.sqrt(sq) + 1e-12))
        leaves, tree = jax.tree_util.tree_flatten(grads)
        keys = jax.random.split(key, len(leaves))
        noisy = [
            (jnp.tensordot(factor, g, axes=1) + sigma * clip * jax.random.normal(k, g.shape[1:])) / (q * n)
            for g, k in zip(leaves, keys)
        ]
        updates, o = opt.update(jax.tree_util.tree_unflatten(tree, noisy), o, p)
        return optax.apply_updates(p, updates), o

    truncated = 0
    for t in range(steps):
        chosen = np.flatnonzero(rng.random(n) < q)
        if len(chosen) > capacity:
            truncated += 1
            chosen = chosen[:capacity]
        idx = np.zeros(capacity, dtype=np.int64)
        idx[: len(chosen)] = chosen
        mask = np.zeros(capacity, dtype=np.float32)
        mask[: len(chosen)] = 1.0
        params, opt_state = step(params, opt_state, x[idx], y[idx], mask, jax.random.fold_in(noise_key, t))
    log = {"steps": steps, "sample_rate": q, "truncated_batches": truncated}
    return params, state, log


def dp_epsilon(sample_rate, noise, steps, delta):
    """ε of Poisson-subsampled Gaussian DP-SGD from the RDP accountant (Mironov 2017), as
    Opacus's default accountant computes it."""
    import dp_accounting

    accountant = dp_accounting.rdp.RdpAccountant()
    event = dp_accounting.PoissonSampledDpEvent(sample_rate, dp_accounting.GaussianDpEvent(noise))
    accountant.compose(event, steps)
    return float(accountant.get_epsilon(delta))
