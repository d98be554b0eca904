"""SAC's gradient step for plain MLP actor and critics, with the gradients written by hand.

One SAC step on ``[256, 256]`` networks and batches of 256 is, at the least, fifteen
256×256×256 matrix products: the actor on ``s`` and ``s'`` at once (2), the target critics (2),
the critics forward (2) and backward (4: weights and hidden inputs), the critics on the policy's
actions (2) and back to those actions (1: each row goes back through its smaller critic only, the
other critic's gradient being exactly 0), and the actor backward (2); everything else is small.
Through autograd the graph, fresh activation and gradient tensors (page faults on every step at
these sizes), the critics' weight gradients in the actor loss and the many tiny head operations
cost about as much again as the products. :class:`NumpySACLearner` runs the same computation as
single kernels on preallocated memory — torch's ``addmm``/``baddbmm``/``bmm``/``mm`` with ``out=``
for the products (one batched product per layer for all critics), in-place activations and their
derivatives, NumPy for the ``[B, A]`` squashed-Gaussian head and the losses — writing the
gradients into the flat gradient buffers of :class:`~rlworks.nets.flat.FlatParameters`. The
optimizer steps, the entropy coefficient and the Polyak averaging stay with the agent
(:class:`~rlworks.agents.sac.SAC`), which calls the phases in the autograd path's order, drawing
the same noise from the same generator. ``tests/agents/test_sac_fast.py`` checks losses,
gradients and whole updates against autograd.

Used only where it applies: a CPU float32 :class:`~rlworks.nets.squashed.SquashedGaussianPolicy`
whose body is a plain relu or tanh MLP, and :class:`~rlworks.nets.squashed.QEnsemble` critics.

The gradients, with ``u = mean + std·ε`` (``std = exp(clamp(s))``), ``t = tanh(u)`` and
``log π = Σ (-½ z² - s - ½ log 2π) - Σ 2 (log 2 - u - softplus(-2u))``, ``z = ε``:

* ``d log π / d u = 2 t`` (the tanh correction; the Gaussian term does not depend on ``u`` once
  ``z = (u - mean)/std`` is written out), ``d log π / d s = -1``;
* ``d u / d mean = 1``, ``d u / d s = std·ε``, ``d s / d s_raw = 1`` inside the clamp, else 0;
* critic loss ``½ Σ_i mean_b (Q_i - y)²``: ``d / d Q_ib = (Q_ib - y_b) / B``;
* actor loss ``mean_b (α log π - min_i Q_i(s, a))``: ``d / d log π_b = α / B``,
  ``d / d Q_ib = -1/B`` for the smaller critic, and ``d / d a`` through the critics' inputs only.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from rlworks.nets.fast_mlp import (
    MLPStack,
    activate_,
    activation_backward_,
    parameter_grads,
)
from rlworks.nets.squashed import (
    LOG_STD_MAX,
    LOG_STD_MIN,
    QEnsemble,
    SquashedGaussianPolicy,
    squash_head,
)

__all__ = ["NumpySACLearner"]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_LOG_2 = math.log(2.0)


class _Critics:
    """Forward and backward of a :class:`QEnsemble` (stacked weights ``[n, in, out]``): one
    batched product per hidden layer for all critics, NumPy for the one-output head."""

    def __init__(self, ensemble: QEnsemble, *, with_grads: bool = True) -> None:
        self.relu = ensemble.activation == "relu"
        self.n = ensemble.n_critics
        self.weights = [w.detach() for w in ensemble.weights]  # [n, in, out] ..., head [n, H]
        self.biases = [b.detach() for b in ensemble.biases]  # [n, 1, out] ..., head [n, 1]
        self.head_weight = self.weights[-1].numpy()[:, :, None]  # [n, H, 1] view
        self.head_bias = self.biases[-1].numpy()  # [n, 1]
        if with_grads:
            self.weight_grads = parameter_grads(list(ensemble.weights))
            self.bias_grads = parameter_grads(list(ensemble.biases))
            self.first_grad_np = self.weight_grads[0].numpy()  # [n, D + A, H0]
            head = self.weight_grads[-1].numpy()  # [n, H]
            self.head_weight_grad = head.reshape(self.n, 1, -1)  # [n, 1, H] view
            self.head_bias_grad = self.bias_grads[-1].numpy()  # [n, 1]

    def forward(
        self, x: torch.Tensor, acts: list[torch.Tensor], q: np.ndarray, weights: _Critics
    ) -> np.ndarray:
        """``Q_i(x)`` ``[n, B]`` into ``q`` with ``weights``' parameters (this object's or the
        target's), keeping the hidden outputs in ``acts`` (``[n, B, H_k]`` each)."""
        h = x.expand(self.n, *x.shape)  # [n, B, D + A], no copy
        for k, out in enumerate(acts):
            torch.baddbmm(weights.biases[k], h, weights.weights[k], out=out)  # [n, B, H_k]
            activate_(out, self.relu)
            h = out
        # One output per critic: a NumPy batched matrix-vector product (torch.bmm is 15x slower).
        np.matmul(h.numpy(), weights.head_weight, out=q[:, :, None])  # [n, B, 1]
        q += weights.head_bias
        return q

    def backward(
        self, dq: np.ndarray, x: torch.Tensor, acts: list[torch.Tensor], grads: list[torch.Tensor]
    ) -> None:
        """Write ``d loss / d params`` into the gradient views given ``dq = d loss / d Q``
        ``[n, B]``, for the forward pass that filled ``acts`` from ``x``; ``grads`` are scratch
        tensors shaped like ``acts``."""
        top = acts[-1]  # [n, B, H]
        np.matmul(dq[:, None, :], top.numpy(), out=self.head_weight_grad)  # [n, 1, H]
        np.add.reduce(dq, axis=1, keepdims=True, out=self.head_bias_grad)  # [n, 1]
        dq_t = torch.from_numpy(dq)
        grad = torch.mul(dq_t[:, :, None], self.weights[-1][:, None, :], out=grads[-1])
        activation_backward_(grad, top, self.relu)
        for k in range(len(acts) - 1, -1, -1):
            if k > 0:  # dW = below^T grad, per critic
                torch.bmm(acts[k - 1].transpose(1, 2), grad, out=self.weight_grads[k])
            else:  # the shared input [B, D + A]: broadcast in NumPy
                np.matmul(x.numpy().T, grad.numpy(), out=self.first_grad_np)
            torch.sum(grad, 1, keepdim=True, out=self.bias_grads[k])  # [n, 1, H_k]
            if k == 0:
                break
            upstream = torch.bmm(grad, self.weights[k].transpose(1, 2), out=grads[k - 1])
            activation_backward_(upstream, acts[k - 1], self.relu)
            grad = upstream

    def action_grad(
        self,
        chosen: np.ndarray,
        scale: float,
        acts: list[torch.Tensor],
        rows: list[torch.Tensor],
        grads: list[torch.Tensor],
        out: np.ndarray,
    ) -> None:
        """``d (scale · Q_{chosen_b}(s_b, a_b)) / d a_b`` ``[B, A]`` into ``out``, the weights
        held constant. Row b's gradient flows through critic ``chosen_b`` only (the others' are
        exactly 0), so each critic backpropagates just its own rows: the products cover B rows
        in all instead of ``n·B``. ``rows`` and ``grads`` are ``[B, H_k]`` scratch tensors."""
        first = self.weights[0].numpy()  # [n, D + A, H0]
        start = first.shape[1] - out.shape[1]
        for i in range(self.n):
            picked = np.flatnonzero(chosen == i)
            m = len(picked)
            if m == 0:
                continue
            index = torch.from_numpy(picked)
            kept = [
                torch.index_select(h[i], 0, index, out=r[:m])
                for h, r in zip(acts, rows, strict=True)
            ]  # [m, H_k] each
            grad = torch.mul(self.weights[-1][i].expand(m, -1), scale, out=grads[-1][:m])
            activation_backward_(grad, kept[-1], self.relu)
            for k in range(len(acts) - 1, 0, -1):
                upstream = torch.mm(grad, self.weights[k][i].T, out=grads[k - 1][:m])
                activation_backward_(upstream, kept[k - 1], self.relu)
                grad = upstream
            out[picked] = grad.numpy() @ first[i, start:].T  # [m, A]


class NumpySACLearner:
    """SAC's losses and gradients for a plain MLP squashed-Gaussian actor and Q ensemble.

    The agent calls, per gradient step, :meth:`load` (the batch), :meth:`sample_policy` (the
    actor on ``s`` and ``s'``: log-probabilities for the entropy coefficient), the α step,
    :meth:`critic_loss_and_grad`, the critics' optimizer step, :meth:`actor_loss_and_grad`
    (through the updated critics), the actor's optimizer step and the Polyak step.

    Example:
        >>> learner = NumpySACLearner(actor, critic, critic_target, batch_size=256)
        >>> learner.load(obs, actions, rewards, next_obs, discounts)
        >>> log_prob = learner.sample_policy(generator)  # [B]
        >>> critic_loss, q_mean = learner.critic_loss_and_grad(alpha); critic_optimizer.step()
        >>> actor_loss, entropy = learner.actor_loss_and_grad(alpha); actor_optimizer.step()
    """

    @staticmethod
    def supports(actor: SquashedGaussianPolicy, critic: QEnsemble, target: QEnsemble) -> bool:
        """Whether all three networks are CPU float32 and the actor is a plain relu/tanh MLP."""
        params = [*actor.parameters(), *critic.parameters(), *target.parameters()]
        return (
            all(p.device.type == "cpu" and p.dtype == torch.float32 for p in params)
            and MLPStack.supports(actor.body)
            and critic.activation in ("relu", "tanh")
        )

    def __init__(
        self,
        actor: SquashedGaussianPolicy,
        critic: QEnsemble,
        target: QEnsemble,
        batch_size: int,
    ) -> None:
        """Prepare buffers for batches of ``batch_size`` rows.

        The actor's and the critics' parameters must already live in :class:`FlatParameters`
        buffers: their ``.grad`` tensors are the views the gradients are written to.
        """
        if not self.supports(actor, critic, target):
            raise ValueError("NumpySACLearner needs CPU float32 plain relu/tanh MLP networks")
        self.action_dim = actor.action_dim
        self.obs_dim = int(critic.weights[0].shape[1]) - self.action_dim
        self.actor = MLPStack(actor.body)
        self.critic = _Critics(critic)
        self.target = _Critics(target, with_grads=False)
        self._hidden = [int(w.shape[2]) for w in critic.weights[:-1]]
        self._allocate(batch_size)
        # Acting on one observation: NumPy views of the live actor parameters and output rows.
        self._act_weights = [w.numpy().T for w in self.actor.weights]  # [in, out] views
        self._act_biases = [b.numpy() for b in self.actor.biases]
        self._act_rows = [np.empty((1, w.shape[0]), np.float32) for w in self.actor.weights]

    def act_one(self, obs: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        """Actions ``[1, A]`` in ``(-1, 1)`` for one observation ``[1, D]`` (float32): sampled
        with ``rng``, or ``tanh(mean)`` when ``rng`` is None — the computation of
        :meth:`SquashedGaussianPolicy.numpy_act`, through preallocated rows."""
        x, last = obs, len(self._act_rows) - 1
        for i, out in enumerate(self._act_rows):
            np.matmul(x, self._act_weights[i], out=out)  # [1, out_i]
            out += self._act_biases[i]
            if i < last:
                if self.actor.relu:
                    np.maximum(out, 0.0, out=out)
                else:
                    np.tanh(out, out=out)
            x = out
        return squash_head(x, self.action_dim, rng)

    def _allocate(self, batch: int) -> None:
        n, d, a = self.critic.n, self.obs_dim, self.action_dim
        self._batch = batch
        self._cols = np.arange(batch)
        self._actor_in = torch.empty(2 * batch, d)  # [2B, D]: s, then s'
        self._noise = torch.empty(2 * batch, a)  # [2B, A]
        self._x = torch.empty(batch, d + a)  # [B, D + A] critic input (s, a)
        self._x_next = torch.empty(batch, d + a)  # [B, D + A] target input (s', a')
        self._acts = [torch.empty(n, batch, h) for h in self._hidden]  # [n, B, H_k]
        self._grads = [torch.empty(n, batch, h) for h in self._hidden]
        self._rows = [torch.empty(batch, h) for h in self._hidden]  # [B, H_k] one critic's rows
        self._grads_row = [torch.empty(batch, h) for h in self._hidden]
        self._d_action = np.empty((batch, a), np.float32)
        self._q = np.empty((n, batch), np.float32)  # [n, B]
        self._d_out = torch.empty(batch, 2 * a)  # [B, 2A] d loss / d actor output
        self.actor.allocate(batch, forward_rows=2 * batch)  # s and s' at once
        self._rewards = np.empty(batch, np.float32)
        self._discounts = np.empty(batch, np.float32)

    # ------------------------------------------------------------------ phases
    def load(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_obs: np.ndarray,
        discounts: np.ndarray,
    ) -> None:
        """Copy a batch in: observations ``[B, D]``, actions in ``[-1, 1]`` ``[B, A]``,
        rewards ``[B]``, next observations ``[B, D]``, discounts ``γ (1 - terminated)`` ``[B]``."""
        n = len(rewards)
        if n != self._batch:  # another batch size than configured (update(batch) by hand)
            self._allocate(n)
        d = self.obs_dim
        actor_in, x, x_next = self._actor_in.numpy(), self._x.numpy(), self._x_next.numpy()
        actor_in[:n] = obs
        actor_in[n:] = next_obs
        x[:, :d] = obs
        x[:, d:] = actions
        x_next[:, :d] = next_obs
        self._rewards[:] = rewards
        self._discounts[:] = discounts

    def sample_policy(self, generator: torch.Generator) -> np.ndarray:
        """Run the actor on ``s`` and ``s'``, drawing the noise of ``s`` then of ``s'`` from
        ``generator`` (the autograd path's order); return ``log π(a|s)`` ``[B]``."""
        n, a = self._batch, self.action_dim
        self._noise[:n].normal_(generator=generator)  # ε for s, as torch.randn([B, A])
        self._noise[n:].normal_(generator=generator)  # then for s'
        out = self.actor.forward(self._actor_in).numpy()  # [2B, 2A]
        eps = self._noise.numpy()
        mean, raw = out[:, :a], out[:, a:]
        log_std = np.clip(raw, LOG_STD_MIN, LOG_STD_MAX)
        std = np.exp(log_std)
        std_eps = std * eps  # d u / d s
        pre = mean + std_eps  # [2B, A] u
        squashed = np.tanh(pre)
        z = (pre - mean) * np.exp(-log_std)  # standardized, as autograd's path computes it
        gaussian = np.add.reduce(-0.5 * z * z - log_std - _HALF_LOG_2PI, axis=1)  # [2B]
        correction = np.add.reduce(2.0 * (_LOG_2 - pre - np.logaddexp(0.0, -2.0 * pre)), axis=1)
        log_prob = gaussian - correction  # [2B]
        self._log_prob = log_prob
        self._squashed = squashed
        self._std_eps = std_eps[:n]
        self._in_clamp = (raw[:n] >= LOG_STD_MIN) & (raw[:n] <= LOG_STD_MAX)
        self._x_next.numpy()[:, self.obs_dim :] = squashed[n:]  # a' ~ π(·|s')
        first: np.ndarray = log_prob[:n]
        return first

    def critic_loss_and_grad(self, alpha: float) -> tuple[float, float]:
        """Soft TD targets from the target critics, the critic loss
        ``½ Σ_i mean_b (Q_i - y)²`` and its gradient (written into the critics' gradient
        views); returns ``(loss, mean Q)``. Call after :meth:`sample_policy`."""
        n = self._batch
        q_next = self.critic.forward(self._x_next, self._acts, self._q, self.target)  # [n, B]
        soft_value = q_next.min(axis=0) - alpha * self._log_prob[n:]  # [B]
        targets = self._rewards + self._discounts * soft_value  # [B]
        q = self.critic.forward(self._x, self._acts, self._q, self.critic)  # [n, B]
        td = q - targets  # [n, B]
        loss = 0.5 * float(np.add.reduce(td * td, axis=None)) / n
        q_mean = float(np.add.reduce(q, axis=None)) / q.size
        td *= 1.0 / n  # d loss / d Q
        self.critic.backward(td, self._x, self._acts, self._grads)
        return loss, q_mean

    def actor_loss_and_grad(self, alpha: float) -> tuple[float, float]:
        """The actor loss ``mean_b (α log π - min_i Q_i(s, a))`` through the (updated) critics
        and its gradient (written into the actor's gradient views; the critics' weights are
        constants); returns ``(loss, entropy = -mean log π)``. Call after
        :meth:`critic_loss_and_grad` and the critics' optimizer step."""
        n, d, a = self._batch, self.obs_dim, self.action_dim
        x = self._x.numpy()
        x[:, d:] = self._squashed[:n]
        q = self.critic.forward(self._x, self._acts, self._q, self.critic)  # [n, B]
        smaller = q.argmin(axis=0)  # [B]
        log_prob = self._log_prob[:n]
        loss = float(np.add.reduce(alpha * log_prob - q[smaller, self._cols])) / n
        entropy = -float(np.add.reduce(log_prob)) / n
        d_a = self._d_action  # [B, A] d loss / d a, through the smaller critic of each row
        self.critic.action_grad(smaller, -1.0 / n, self._acts, self._rows, self._grads_row, d_a)
        t = self._squashed[:n]
        d_log_prob = np.float32(alpha / n)
        d_pre = d_a * (1.0 - t * t) + (2.0 * d_log_prob) * t  # [B, A] d loss / d u
        d_out = self._d_out.numpy()
        d_out[:, :a] = d_pre  # d / d mean
        np.multiply(d_pre * self._std_eps - d_log_prob, self._in_clamp, out=d_out[:, a:])
        self.actor.backward(self._d_out, self._actor_in[:n])
        return loss, entropy
