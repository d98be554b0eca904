"""Returns and advantages: pure NumPy functions of rewards and episode ends.

The chapter's credit assignment ("Evaluating Actions: The Credit Assignment Problem") gives each
action the discounted sum of the rewards that followed it, then normalizes these returns over many
episodes into action advantages. :func:`discount_rewards` and
:func:`discount_and_normalize_rewards` are exactly the chapter's two functions;
:func:`discounted_returns` is the general form for time-major batches from vector environments,
which keeps ``terminated`` and ``truncated`` apart: a terminated episode's return stops at its last
reward, a truncated one may be continued with a value estimate of the state it was cut in.
:func:`gae` is generalized advantage estimation for the actor-critic family (A2C, PPO), on the same
time-major batches and with the same episode-end rules.

Nothing here mutates its inputs.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "Advantages",
    "Normalized",
    "ZeroSpreadWarning",
    "discount_and_normalize_rewards",
    "discount_rewards",
    "discounted_returns",
    "gae",
    "normalize",
    "reward_to_go",
]


class ZeroSpreadWarning(UserWarning):
    """Returns to normalize all had the same value; they were centred, not scaled."""


class Normalized(NamedTuple):
    """Result of :func:`normalize`.

    Attributes:
        values: ``(x - mean) / std``, or ``x - mean`` (all zeros) when ``std`` is zero.
        mean: Mean of the input.
        std: Population standard deviation of the input (NumPy's default, as in the chapter).
        zero_spread: True when ``std`` was zero (or not finite) and no division took place.
    """

    values: np.ndarray
    mean: float
    std: float
    zero_spread: bool


def discount_rewards(rewards: ArrayLike, discount_factor: float) -> np.ndarray:
    """The discounted return of every step of one episode: ``G_t = r_t + γ G_{t+1}``.

    The last step gets its own reward; nothing is bootstrapped after it.

    Example:
        >>> discount_rewards([10, 0, -50], 0.8)  # -50; 0 + 0.8 * -50; 10 + 0.8 * -40
        array([-22., -40., -50.])

    Args:
        rewards: The episode's rewards in order, ``[T]``.
        discount_factor: γ, in [0, 1].

    Returns:
        Discounted returns ``[T]`` (float64).
    """
    discounted = np.array(rewards, dtype=np.float64).reshape(-1)  # [T], a copy
    for step in range(len(discounted) - 2, -1, -1):
        discounted[step] += discount_factor * discounted[step + 1]
    return discounted


def reward_to_go(rewards: ArrayLike, discount_factor: float = 1.0) -> np.ndarray:
    """The sum of the rewards from each step to the end of the episode (discounted if γ < 1).

    Crediting each action only with the rewards that came after it (rather than with the whole
    episode's return) is what makes the chapter's REINFORCE a "reward-to-go" policy gradient.

    Args:
        rewards: The episode's rewards in order, ``[T]``.
        discount_factor: γ; the default 1.0 gives the plain (undiscounted) reward-to-go.

    Returns:
        Returns ``[T]`` (float64).
    """
    return discount_rewards(rewards, discount_factor)


def normalize(values: ArrayLike, *, warn: bool = True) -> Normalized:
    """Subtract the mean and divide by the (population) standard deviation.

    When every value is the same (``std == 0``) there is nothing to scale by: the values are only
    centred, which makes them all zero, and a :class:`ZeroSpreadWarning` says so. A policy gradient
    gradient with all-zero advantages is zero, which is the right outcome for a batch that carries
    no information about which actions were better.

    Args:
        values: Any array.
        warn: Emit :class:`ZeroSpreadWarning` on zero spread.
    """
    x = np.asarray(values, dtype=np.float64)
    if not np.isfinite(x).all():
        raise ValueError(f"cannot normalize non-finite values: {x[~np.isfinite(x)][:3]}")
    mean = float(x.mean()) if x.size else 0.0
    std = float(x.std()) if x.size else 0.0
    if std > 0.0 and np.isfinite(std):
        return Normalized((x - mean) / std, mean, std, False)
    if warn:
        warnings.warn(
            f"cannot normalize {x.size} returns that are all equal to {mean:g} (standard "
            "deviation 0): they were centred to 0 and not scaled",
            ZeroSpreadWarning,
            stacklevel=2,
        )
    return Normalized(x - mean, mean, std, True)


def discount_and_normalize_rewards(
    all_rewards: Sequence[ArrayLike], discount_factor: float
) -> list[np.ndarray]:
    """Discount each episode's rewards, then normalize all of them together (the chapter's
    action advantages).

    The mean and standard deviation are taken over every step of every episode, so the actions
    of a worse-than-average episode get negative advantages and those of a better one positive.

    Example:
        >>> advantages = discount_and_normalize_rewards([[10, 0, -50], [10, 20]], 0.8)
        >>> [a.round(8) for a in advantages]
        [array([-0.28435071, -0.86597718, -1.18910299]), array([1.26665318, 1.0727777 ])]

    Args:
        all_rewards: One reward sequence per episode.
        discount_factor: γ.

    Returns:
        One array of normalized returns per episode. When every return is equal they are
        centred only (all zeros) and a :class:`ZeroSpreadWarning` is emitted.
    """
    all_discounted = [discount_rewards(rewards, discount_factor) for rewards in all_rewards]
    if not all_discounted:
        return []
    flat = normalize(np.concatenate(all_discounted), warn=False)
    if flat.zero_spread:
        warnings.warn(
            f"all {flat.values.size} discounted rewards equal {flat.mean:g} (standard deviation "
            "0): they were centred to 0 and not scaled",
            ZeroSpreadWarning,
            stacklevel=2,
        )
    bounds = np.cumsum([len(d) for d in all_discounted])[:-1]
    return np.split(flat.values, bounds)


def discounted_returns(
    rewards: ArrayLike,
    discount_factor: float,
    *,
    terminated: ArrayLike | None = None,
    truncated: ArrayLike | None = None,
    next_values: ArrayLike | None = None,
) -> np.ndarray:
    """Discounted returns of time-major batches, with episode ends handled explicitly.

    Row ``t`` holds one step of ``N`` parallel streams (``[T, N]``; 1-D inputs are one stream).
    Going backwards, ``G_t = r_t + γ · next_t`` where ``next_t`` is:

    * ``0`` when the step terminated its episode (no value after a terminal state);
    * ``next_values[t]`` when the step truncated its episode (the episode would have gone on:
      bootstrap from the value of the state it was cut in), or ``0`` without ``next_values``
      (the chapter's convention: treat the cut as the end);
    * ``G_{t+1}`` otherwise, and on the last row, which the batch cut rather than the
      environment, ``next_values[T-1]`` (or ``0``).

    Args:
        rewards: ``[T]`` or ``[T, N]``.
        discount_factor: γ.
        terminated: Same shape, bool; ``None`` means no step terminated.
        truncated: Same shape, bool; ``None`` means no step was truncated.
        next_values: Same shape, the value estimate of each step's next observation; only its
            truncated rows and its last row are read.

    Returns:
        Returns of the same shape as ``rewards`` (float64).

    Raises:
        ValueError: The arrays' shapes differ, or ``rewards`` is a scalar.
    """
    r = np.asarray(rewards, dtype=np.float64)
    if r.ndim == 0:
        raise ValueError("rewards must be [T] or [T, N], got a scalar")
    shape = r.shape

    def _like(name: str, a: ArrayLike | None, dtype: type) -> np.ndarray:
        if a is None:
            return np.zeros(shape, dtype=dtype)
        arr: np.ndarray = np.asarray(a, dtype=dtype)
        if arr.shape != shape:
            raise ValueError(f"{name} has shape {arr.shape}, expected the rewards' {shape}")
        return arr

    term = _like("terminated", terminated, bool)
    trunc = _like("truncated", truncated, bool) & ~term
    values = _like("next_values", next_values, np.float64)
    returns = np.empty_like(r)
    if r.size == 0:
        return returns
    following = values[-1]  # what follows the last row: the batch cut it, not the env
    for t in range(shape[0] - 1, -1, -1):
        following = np.where(term[t], 0.0, np.where(trunc[t], values[t], following))
        returns[t] = r[t] + discount_factor * following
        following = returns[t]
    return returns


class Advantages(NamedTuple):
    """Result of :func:`gae`.

    Attributes:
        advantages: ``A_t``, same shape as the rewards (float64).
        returns: ``A_t + V(s_t)``: the targets of the value function (float64).
    """

    advantages: np.ndarray
    returns: np.ndarray


def gae(
    rewards: ArrayLike,
    values: ArrayLike,
    next_values: ArrayLike,
    terminated: ArrayLike,
    truncated: ArrayLike,
    gamma: float,
    lam: float,
) -> Advantages:
    """Generalized advantage estimation (Schulman et al. 2016, https://arxiv.org/abs/1506.02438).

    Row ``t`` holds one step of ``N`` parallel streams (``[T, N]``; 1-D inputs are one stream).
    With ``δ_t = r_t + γ · next_t − V(s_t)``, going backwards,
    ``A_t = δ_t + γλ · A_{t+1}``, where the chain is cut (``A_{t+1} = 0``) at every episode end
    and after the last row, and ``next_t`` is:

    * ``0`` when the step terminated its episode (no value after a terminal state);
    * ``next_values[t]`` when the step truncated its episode: the value of its true final
      observation (the episode would have gone on, so its value is bootstrapped);
    * ``next_values[T-1]`` on the last row (the batch cut it, not the environment);
    * ``values[t+1]`` otherwise.

    Only the truncated rows and the last row of ``next_values`` are read. ``λ = 1`` gives the
    discounted returns of :func:`discounted_returns` minus the values; ``λ = 0`` the one-step
    TD errors.

    Args:
        rewards: ``[T]`` or ``[T, N]``.
        values: ``V(s_t)``, same shape.
        next_values: Value of each step's next observation, same shape (see above).
        terminated: Same shape, bool.
        truncated: Same shape, bool.
        gamma: Discount factor γ.
        lam: λ in [0, 1]: 0 is the one-step TD error, 1 the Monte-Carlo advantage.

    Returns:
        :class:`Advantages`: advantages and returns (advantages + values), float64.

    Raises:
        ValueError: The arrays' shapes differ, or ``rewards`` is a scalar.
    """
    r = np.asarray(rewards, dtype=np.float64)
    if r.ndim == 0:
        raise ValueError("rewards must be [T] or [T, N], got a scalar")
    arrays = {}
    for name, a, dtype in (
        ("values", values, np.float64),
        ("next_values", next_values, np.float64),
        ("terminated", terminated, bool),
        ("truncated", truncated, bool),
    ):
        arr = np.asarray(a, dtype=dtype)
        if arr.shape != r.shape:
            raise ValueError(f"{name} has shape {arr.shape}, expected the rewards' {r.shape}")
        arrays[name] = arr
    v, nv = arrays["values"], arrays["next_values"]
    term = arrays["terminated"]
    trunc = arrays["truncated"] & ~term
    advantages = np.empty_like(r)
    if r.size == 0:
        return Advantages(advantages, advantages.copy())
    cont = ~(term | trunc)  # the episode goes on after step t
    # Value of what follows each step: V(s_{t+1}) inside an episode, V(final obs) on a
    # truncation, 0 on a termination.
    following = np.empty_like(r)
    following[:-1] = v[1:]
    following[-1] = nv[-1]
    following = np.where(trunc, nv, following)
    following[term] = 0.0
    deltas = r + gamma * following - v  # [T, N]
    decay = gamma * lam * cont  # [T, N]
    last = np.zeros(r.shape[1:], dtype=np.float64)
    for t in range(r.shape[0] - 1, -1, -1):
        last = deltas[t] + decay[t] * last
        advantages[t] = last
    return Advantages(advantages, advantages + v)
