"""Chapter 18, "Neural Network Policies": can the policy network learn at all? Teach it the basic
policy.

The lecture notebook makes one network play 50 CartPole environments in parallel; at every
iteration the target is the basic policy's action for each of the 50 current observations (left
when the pole leans left), the network takes one RMSprop step on the binary cross-entropy, and
each environment then steps with an action sampled from the network's own probabilities. After
5000 iterations it "learned the policy correctly".

Here that loop is ``rlworks.agents.BehaviorCloning`` with the ``bc-cartpole`` preset's settings:
the chapter's network (Dense(5, relu) → Dense(1, sigmoid)), 50 environments, 5000 iterations
(250,000 steps), RMSprop with learning rate 0.01 instead of Keras' 0.001 — with 0.001 the student
agrees with the teacher on only 96-97% of held-out states after 5000 iterations. We then measure
how often the student's greedy action equals the teacher's on 10,000 states the teacher visits in
fresh environments, and compare their returns over the chapter's 500 evaluation episodes (the
basic policy: 41.698). The same from the command line: ``rlworks train bc CartPole-v1 --set
teacher=basic``.

Run: ``python examples/chapter18/11_learning_the_basic_policy.py [--seed S]``
"""

from __future__ import annotations

import argparse

import rlworks as rw
from rlworks.agents.imitation import BehaviorCloning, ImitationConfig, imitation_agreement
from rlworks.config import config_from_dict, find_preset, load_yaml
from rlworks.policies import basic_policy

ITERATIONS = 5000  # the chapter's: one vector step and one gradient step each


def main() -> None:
    """Train the student, measure its agreement with the teacher and both returns."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args, _ = parser.parse_known_args()  # known only: the test suite runs under pytest's argv

    preset = load_yaml(find_preset("bc-cartpole", "bc", "CartPole-v1"))  # type: ignore[arg-type]
    config = config_from_dict(ImitationConfig, preset["agent"], source="bc-cartpole preset")
    env = rw.make_env("CartPole-v1", n_envs=50, seed=args.seed)
    agent = BehaviorCloning(env, config, seed=args.seed)
    driver = rw.training.Driver(env, agent.collect_policy, agent.observers)
    for iteration in range(ITERATIONS // config.steps_per_iteration):
        info = agent.train_iteration(driver)
        if (iteration + 1) % 10 == 0:
            done = (iteration + 1) * config.steps_per_iteration
            print(f"Iteration: {done}, Loss: {info['loss']:.3f}")

    agreement = imitation_agreement(agent, "basic", "CartPole-v1", n_states=10_000)
    print(f"agrees with the basic policy on {agreement.agreement:.2%} of 10,000 held-out states")
    student = rw.evaluate(agent, "CartPole-v1", episodes=500, seed=0)
    teacher = rw.evaluate(basic_policy, "CartPole-v1", episodes=500, seed=0)
    print(f"500 episodes: student {student.mean:.3f}, teacher {teacher.mean:.3f} (the chapter's)")
    # Measured on seeds 0-4: 99.66-99.84% agreement, returns within 2.5% of the teacher's.
    assert agreement.agreement >= 0.98
    assert abs(student.mean - teacher.mean) <= 0.05 * teacher.mean


if __name__ == "__main__":
    main()
