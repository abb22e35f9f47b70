"""Method adapters: each optimizer behind the same small ask / tell / recommend interface.

=============  ==========================================================================
method         what runs
=============  ==========================================================================
``axnb``       ``axnb.Experiment(..., seed=seed, path=<tmp>)``, ``suggest()`` /
               ``complete()``; recommendation ``exp.best()`` (public API only)
``ax``         Ax ``Client(random_seed=seed)``, default generation strategy (Sobol then
               MBM, configured with ``initialization_random_seed=seed``),
               ``get_next_trials(max_trials=1)`` / ``complete_trial``; recommendation
               ``get_best_parameterization()``
``tpe``        Optuna ``TPESampler(seed=seed)`` (defaults), ask / tell
``gp``         Optuna ``GPSampler(seed=seed)`` (defaults), ask / tell
``sobol``      ``scipy.stats.qmc.Sobol(scramble=True, seed=seed)``; best observed
=============  ==========================================================================

Linear constraints: axnb and Ax get them as parameter constraints (their suggestions must
be feasible); Sobol rejects infeasible points; Optuna has no parameter constraints, so the
constraint is passed as ``constraints_func`` (both samplers support it): the point is
evaluated, marked infeasible, and uses up a trial (it never counts as the best).

Several objectives: axnb and Ax get the reference point as thresholds on the objective
metrics (``f1 <= 18``, ``f2 <= 6``); Optuna and Sobol have no notion of it.

No method is told the noise level: results are plain floats everywhere.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from bench.problems import Problem

METHODS = ("axnb", "ax", "gp", "tpe", "sobol")
LABELS = {
    "axnb": "axnb",
    "ax": "Ax Client",
    "gp": "Optuna GP",
    "tpe": "Optuna TPE",
    "sobol": "Sobol",
}


class Adapter:
    """``ask() -> params``; ``tell(value)`` for the last ask; ``recommend() -> params | None``
    (None: the harness uses the best observed feasible trial)."""

    source: str | None = None  # axnb only: where the last suggestion came from

    def ask(self) -> dict[str, Any]:
        raise NotImplementedError

    def tell(self, value: float | tuple[float, ...]) -> None:
        raise NotImplementedError

    def recommend(self) -> dict[str, Any] | None:
        return None

    def close(self) -> None:
        pass


# --------------------------------------------------------------------- Sobol
class SobolAdapter(Adapter):
    def __init__(self, problem: Problem, seed: int) -> None:
        from scipy.stats import qmc

        self.problem = problem
        self.engine = qmc.Sobol(problem.dim, scramble=True, seed=seed)
        self.rejected = 0

    def _decode(self, u: np.ndarray) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for p, ui in zip(self.problem.params, u):
            if p.kind == "float":
                out[p.name] = float(p.low + ui * (p.high - p.low))
            elif p.kind == "int":
                n = int(p.high - p.low + 1)
                out[p.name] = int(p.low + min(int(ui * n), n - 1))
            else:
                out[p.name] = p.values[min(int(ui * len(p.values)), len(p.values) - 1)]
        return out

    def ask(self) -> dict[str, Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "balance properties" when n is not 2^m
            while True:
                x = self._decode(self.engine.random(1)[0])
                if self.problem.feasible(x):
                    return x
                self.rejected += 1

    def tell(self, value: Any) -> None:
        pass


# --------------------------------------------------------------------- Optuna
class OptunaAdapter(Adapter):
    def __init__(self, problem: Problem, seed: int, sampler: str) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.problem = problem
        kwargs: dict[str, Any] = {"seed": seed}
        if problem.constraints:
            kwargs["constraints_func"] = lambda ft: ft.user_attrs["constraint"]
        if sampler == "tpe":
            s = optuna.samplers.TPESampler(**kwargs)
        else:
            s = optuna.samplers.GPSampler(**kwargs)
        directions = ["minimize"] * len(problem.objectives)
        self.study = optuna.create_study(directions=directions, sampler=s)
        self.trial = None

    def ask(self) -> dict[str, Any]:
        t = self.study.ask()
        out: dict[str, Any] = {}
        for p in self.problem.params:  # Optuna samples lazily, in these calls
            if p.kind == "float":
                out[p.name] = t.suggest_float(p.name, p.low, p.high)
            elif p.kind == "int":
                out[p.name] = t.suggest_int(p.name, int(p.low), int(p.high))
            else:
                out[p.name] = t.suggest_categorical(p.name, list(p.values))
        self.trial = t
        return out

    def tell(self, value: Any) -> None:
        if self.problem.constraints:
            params = self.trial.params
            self.trial.set_user_attr(
                "constraint", [-c.slack(params) for c in self.problem.constraints]
            )
        self.study.tell(self.trial, list(value) if isinstance(value, tuple) else value)

    def recommend(self) -> dict[str, Any] | None:
        if self.problem.multi_objective or self.problem.constraints:
            return None  # harness: best observed feasible trial (what best_params would be)
        return dict(self.study.best_params)


# --------------------------------------------------------------------- Ax
class AxAdapter(Adapter):
    def __init__(self, problem: Problem, seed: int) -> None:
        # Ax logs at INFO while it is being imported; keep only warnings and errors.
        logging.getLogger("ax.storage.sqa_store.with_db_settings_base").addFilter(
            lambda record: record.levelno >= logging.WARNING)
        from ax.api.client import Client
        from ax.api.configs import ChoiceParameterConfig, RangeParameterConfig
        from ax.utils.common.logger import set_ax_logger_levels

        self._quiet = lambda: set_ax_logger_levels(logging.ERROR)
        self._quiet()

        self.problem = problem
        params: list[Any] = []
        for p in problem.params:
            if p.kind == "choice":
                params.append(ChoiceParameterConfig(name=p.name, values=list(p.values),
                                                    parameter_type="str", is_ordered=False))
            else:
                params.append(RangeParameterConfig(
                    name=p.name, bounds=(float(p.low), float(p.high)) if p.kind == "float"
                    else (int(p.low), int(p.high)), parameter_type=p.kind))
        self.client = Client(random_seed=seed)
        self.client.configure_experiment(
            parameters=params, parameter_constraints=[c.text for c in problem.constraints],
            name=f"bench_{problem.name}")
        if problem.multi_objective:
            self.client.configure_optimization(
                objective=", ".join(f"-{m}" for m in problem.objectives),
                outcome_constraints=[f"{m} <= {r:g}" for m, r in
                                     zip(problem.objectives, problem.ref_point)])
        else:
            self.client.configure_optimization(objective="-y")
        # The default strategy ("fast"), with the Sobol initialization seeded too.
        self.client.configure_generation_strategy(initialization_random_seed=seed)
        self.index: int | None = None

    def ask(self) -> dict[str, Any]:
        trials = self.client.get_next_trials(max_trials=1)
        self._quiet()  # loggers of modules imported lazily
        (self.index, params), = trials.items()
        return dict(params)

    def tell(self, value: Any) -> None:
        if self.problem.multi_objective:
            data = {m: float(v) for m, v in zip(self.problem.objectives, value)}
        else:
            data = {"y": float(value)}
        self.client.complete_trial(trial_index=self.index, raw_data=data)

    def recommend(self) -> dict[str, Any] | None:
        if self.problem.multi_objective:
            return None
        return dict(self.client.get_best_parameterization()[0])


# --------------------------------------------------------------------- axnb
class AxnbAdapter(Adapter):
    def __init__(self, problem: Problem, seed: int) -> None:
        import axnb

        self.problem = problem
        self.tmp = tempfile.TemporaryDirectory(prefix="axnb-bench-")
        params: list[Any] = []
        for p in problem.params:
            if p.kind == "float":
                params.append(axnb.Range(p.name, p.low, p.high))
            elif p.kind == "int":
                params.append(axnb.Int(p.name, int(p.low), int(p.high)))
            else:
                params.append(axnb.Choice(p.name, list(p.values)))
        kwargs: dict[str, Any] = {}
        if problem.multi_objective:
            kwargs["objectives"] = {m: "min" for m in problem.objectives}
            kwargs["outcome_constraints"] = [
                f"{m} <= {r:g}" for m, r in zip(problem.objectives, problem.ref_point)]
        else:
            kwargs["objective"] = "y"
            kwargs["minimize"] = True
        self.exp = axnb.Experiment(
            f"bench_{problem.name}", params,
            constraints=[c.text for c in problem.constraints] or None,
            path=os.path.join(self.tmp.name, "bench.axnb.json"), seed=seed, **kwargs)
        self.trial = None

    def ask(self) -> dict[str, Any]:
        self.trial = self.exp.suggest()
        self.source = self.trial.source
        return dict(self.trial.parameters)

    def tell(self, value: Any) -> None:
        if self.problem.multi_objective:
            self.exp.complete(self.trial.index,
                              {m: float(v) for m, v in zip(self.problem.objectives, value)})
        else:
            self.exp.complete(self.trial.index, float(value))

    def recommend(self) -> dict[str, Any] | None:
        if self.problem.multi_objective:
            return None
        return dict(self.exp.best()[0])

    def close(self) -> None:
        self.tmp.cleanup()


def make_adapter(method: str, problem: Problem, seed: int) -> Adapter:
    if method == "sobol":
        return SobolAdapter(problem, seed)
    if method in ("tpe", "gp"):
        return OptunaAdapter(problem, seed, method)
    if method == "ax":
        return AxAdapter(problem, seed)
    if method == "axnb":
        return AxnbAdapter(problem, seed)
    raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}")


# --------------------------------------------------------------------- one run
def _plain(params: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in params.items():
        if isinstance(v, np.generic):
            v = v.item()
        out[k] = v
    return out


def run_one(problem: Problem, method: str, seed: int) -> dict[str, Any]:
    """Optimize ``problem`` with ``method`` for its budget; return the record saved as JSON.

    Per trial: parameters, observed value(s), true value(s), feasibility, generation wall and
    CPU time (the time of the ask: ``suggest()``, ``get_next_trials``, Optuna's ``ask`` plus
    its ``suggest_*`` calls), and the best-so-far score of the TRUE objective among feasible
    trials (simple regret, or hypervolume gap for several objectives).
    """
    from bench.problems import hypervolume_2d

    warnings.filterwarnings("ignore")
    noise = np.random.default_rng([seed, 20240917])  # same noise stream for every method
    t_start = time.perf_counter()
    adapter = make_adapter(method, problem, seed)
    setup_s = time.perf_counter() - t_start
    trials: list[dict[str, Any]] = []
    best_trace: list[float | None] = []
    front: list[tuple[float, ...]] = []
    best_true = None
    try:
        for _ in range(problem.budget):
            w0, c0 = time.perf_counter(), time.process_time()
            params = _plain(adapter.ask())
            gen_wall, gen_cpu = time.perf_counter() - w0, time.process_time() - c0
            true = problem.f(params)
            if problem.multi_objective:
                true = tuple(float(v) for v in true)
                observed = tuple(v + problem.noise_sd * noise.standard_normal() if
                                 problem.noise_sd else v for v in true)
            else:
                true = float(true)
                observed = true + (problem.noise_sd * noise.standard_normal()
                                   if problem.noise_sd else 0.0)
            feasible = problem.feasible(params)
            adapter.tell(observed)
            if feasible:
                if problem.multi_objective:
                    front.append(true)
                    hv = hypervolume_2d(np.array(front), problem.ref_point)
                    best_true = problem.max_hv - hv
                else:
                    regret = problem.score(true)
                    best_true = regret if best_true is None else min(best_true, regret)
            best_trace.append(best_true)
            trials.append({
                "params": params, "observed": observed, "true": true, "feasible": feasible,
                "gen_time": gen_wall, "gen_cpu": gen_cpu, "source": adapter.source,
            })
        result = _finish(problem, adapter, trials, best_trace)
    finally:
        adapter.close()
    result.update(setup_time=setup_s, wall_time=time.perf_counter() - t_start,
                  trials=trials, best_trace=best_trace,
                  sobol_rejected=getattr(adapter, "rejected", None))
    return result


def _finish(problem: Problem, adapter: Adapter, trials: list[dict[str, Any]],
            best_trace: list[float | None]) -> dict[str, Any]:
    feasible = [t for t in trials if t["feasible"]]
    out: dict[str, Any] = {"n_infeasible": len(trials) - len(feasible)}
    if problem.multi_objective:
        gap = best_trace[-1] if best_trace[-1] is not None else problem.max_hv
        out.update(final_score=gap, hypervolume=problem.max_hv - gap, recommended=None,
                   recommended_by="all feasible observations (hypervolume)")
        return out
    rec = adapter.recommend()
    how = "method"
    if rec is None:
        how = "best observed feasible"
        if feasible:
            rec = min(feasible, key=lambda t: t["observed"])["params"]
    if rec is None:
        out.update(final_score=None, recommended=None, recommended_by=how)
        return out
    rec = _plain(rec)
    rec_true = float(problem.f(rec))
    rec_regret = problem.score(rec_true)
    if problem.constraints and not problem.feasible(rec):
        rec_regret = None
    # Noisy problems: the true value at the recommendation. Noiseless: the best (true =
    # observed) value found, which is what any user would keep.
    final = rec_regret if problem.noise_sd else best_trace[-1]
    out.update(final_score=final, recommended=rec, recommended_true=rec_true,
               recommended_regret=rec_regret, recommended_by=how)
    return out
