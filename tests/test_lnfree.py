"""LayerNorm removal: fake norms fold exactly, the schedule is checked, a small model keeps its accuracy,
the removal resumes exactly, bad input is one line; and training extensions in general."""

from __future__ import annotations

import json

import pytest
import torch
from cli_checks import fails

import tritlens.api as api
from tritlens.errors import ConfigError, TritlensError
from tritlens.models import HookedTransformer, TransformerConfig
from tritlens.run import RunDir, load_run, load_tensors
from tritlens.train import trainer as trainer_mod
from tritlens.train.extensions import Extension
from tritlens.train.lnfree import FakeNormModel, RemovalSchedule, fold, removal_events
from tritlens.train.removal import removal_config

TINY_LN = ["task.p=23", "task.train_frac=0.6", "model.d_model=32", "model.d_head=8", "model.d_mlp=64",
           "model.norm=layer", "train.steps=300", "train.lr=1e-2", "train.eval_every=50",
           "train.checkpoint_every=0"]
QUICK_REMOVAL = ["steps=60", "gap=10", "start=5", "lr=3e-3", "eval_every=20", "checkpoint_every=20"]


@pytest.fixture(scope="module")
def ln_run(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("ln") / "run"
    api.train("quick", out=out, overrides=TINY_LN, progress=False)
    return str(out)


def _random_model(norm: str, where: str = "all", layers: int = 2) -> HookedTransformer:
    cfg = TransformerConfig(n_layers=layers, n_heads=2, d_model=16, d_head=8, d_mlp=32, norm=norm,
                            norm_where=where)
    model = HookedTransformer(cfg, 11, 11, 5, seed=1)
    gen = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for p in model.parameters():  # non-trivial norm weights and biases too
            p.add_(torch.randn(p.shape, generator=gen) * 0.2)
    return model


def _run_schedule(wrapped: FakeNormModel, order: tuple[str, ...], steps: int = 30) -> None:
    schedule = RemovalSchedule(wrapped, removal_events(wrapped, order, 1, 2))
    gen = torch.Generator().manual_seed(3)
    wrapped.train()
    for step in range(steps):
        schedule.begin_step(step)
        wrapped(torch.randint(11, (8, 5), generator=gen))  # records scales while a norm is real


@pytest.mark.parametrize(("norm", "where", "special"), [("layer", "all", ()), ("rms", "all", ()),
                                                        ("layer", "final", ()), ("layer", "all", (0,))])
def test_fake_norms_fold_exactly(norm, where, special):
    model = _random_model(norm, where)
    wrapped = FakeNormModel(model, special=special)
    x = torch.randint(11, (16, 5), generator=torch.Generator().manual_seed(4))
    assert torch.allclose(wrapped(x), model(x), atol=1e-5)  # every norm real: the model itself
    _run_schedule(wrapped, ("mlp", "qk", "v", "final", "special"))
    assert wrapped.all_fake()
    folded = fold(wrapped)
    assert folded.cfg.norm == "none" and not any(".ln" in f".{k}" for k in folded.state_dict())
    wrapped.eval()
    assert torch.allclose(folded(x), wrapped(x), atol=1e-4)
    assert not torch.allclose(folded(x), model(x), atol=1e-2)  # the fake norms do change the function


def test_special_positions_keep_their_own_scale_until_the_last_stage():
    wrapped = FakeNormModel(_random_model("layer"), special=(0,))
    events = removal_events(wrapped, ("mlp", "qk", "v", "final", "special"), 1, 2)
    assert [name for _, name in events] == ["L0_mlp", "L1_mlp", "L0_qk", "L1_qk", "L0_v", "L1_v", "final",
                                            "special"]
    schedule = RemovalSchedule(wrapped, events)
    schedule.begin_step(events[-2][0])  # everything fake except the special stage
    assert {int(n.phase) for n in wrapped.norms.values()} == {1} and not wrapped.all_fake()
    with pytest.raises(ConfigError, match="still real"):
        fold(wrapped)
    schedule.begin_step(events[-1][0])
    assert wrapped.all_fake()


def test_schedule_checks():
    wrapped = FakeNormModel(_random_model("layer"))
    with pytest.raises(ConfigError, match="leaves out qk"):
        removal_events(wrapped, ("mlp", "v", "final"), 1, 2)
    with pytest.raises(ConfigError, match="at most once"):
        removal_events(wrapped, ("mlp", "mlp", "qk", "v", "final"), 1, 2)
    with pytest.raises(ConfigError, match="no 'special' stage"):
        removal_events(FakeNormModel(_random_model("layer"), special=(0,)), ("mlp", "qk", "v", "final"), 1, 2)
    with pytest.raises(ConfigError, match="no LayerNorm"):
        FakeNormModel(_random_model("none"))
    with pytest.raises(ConfigError, match="unknown remove-ln setting"):
        removal_config(["gaps=3"])
    with pytest.raises(ConfigError, match="remove-ln.order must be one of"):
        removal_config(["order=mlp,attn"])
    assert removal_config(["order=mlp,qk,v,final", "special_positions=0"]).special_positions == (0,)


def test_removal_keeps_accuracy_and_gives_an_ordinary_run(ln_run, tmp_path):
    out = tmp_path / "free"
    result = api.remove_ln(ln_run, out, QUICK_REMOVAL, progress=False)
    original, control, free = result["rows"]
    assert [r["model"] for r in result["rows"]] == ["original", "fine-tuned with norms", "norm-free"]
    assert free["train_acc"] >= original["train_acc"] - 0.02
    assert free["test_acc"] >= original["test_acc"] - 0.05
    assert result["loss_increase"] == pytest.approx(free["test_loss"] - control["test_loss"])
    assert result["fold_max_error"] < 1e-3
    run = load_run(out)  # an ordinary run: every command reads it
    assert run.config.model.norm == "none" and RunDir(out).checkpoint_steps() == []
    assert load_run(out / "control").config.model.norm == "layer"
    assert json.loads((out / "ln_removal.json").read_text())["rows"] == result["rows"]
    arms = {name: RunDir(out / name).read_metrics()[-1] for name in ("control", "removal")}
    assert all(arms[name]["step"] == 60 for name in arms)
    assert result["train_seconds"] == {name: arms[name]["wall_time"] for name in arms}
    attribution = api.attribute(run, examples=200, write=False)
    assert attribution["nmae"] < 1e-5  # norm-free: direct logit attribution is the direct effect


def test_removal_resumes_exactly(ln_run, tmp_path, monkeypatch):
    api.remove_ln(ln_run, tmp_path / "ref", QUICK_REMOVAL, progress=False)
    real_step = trainer_mod.Trainer.step
    calls = {"n": 0}

    def crashing_step(self, step):
        calls["n"] += 1
        if calls["n"] == 60 + 27:  # control arm done (60 steps); removal arm after its checkpoint at 20
            raise RuntimeError("simulated crash")
        real_step(self, step)

    monkeypatch.setattr(trainer_mod.Trainer, "step", crashing_step)
    with pytest.raises(RuntimeError, match="simulated crash"):
        api.remove_ln(ln_run, tmp_path / "cut", QUICK_REMOVAL, progress=False)
    monkeypatch.setattr(trainer_mod.Trainer, "step", real_step)
    assert not RunDir(tmp_path / "cut").is_complete()
    control_seconds = RunDir(tmp_path / "cut" / "control").read_metrics()[-1]["wall_time"]
    resumed = api.remove_ln(ln_run, tmp_path / "cut", resume=True, progress=False)
    # the control arm trained in the first session only: its time is kept, not this session's
    assert resumed["train_seconds"]["control"] == control_seconds > 0
    a, b = (load_tensors(tmp_path / name / "model.safetensors") for name in ("ref", "cut"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert resumed["rows"] == json.loads((tmp_path / "ref" / "ln_removal.json").read_text())["rows"]


def test_removal_bad_input(ln_run, tmp_path, capsys):
    plain = tmp_path / "plain"
    api.train("quick", out=plain, overrides=[o for o in TINY_LN if "norm" not in o] + ["train.steps=5"],
              progress=False)
    fails(capsys, ["remove-ln", str(plain), "--out", str(tmp_path / "x")], "has no LayerNorm")
    fails(capsys, ["remove-ln", ln_run, "--out", ln_run], "would overwrite the source run")
    fails(capsys, ["remove-ln", ln_run, "--out", str(tmp_path / "x"), "--set", "gap=5000"],
          "the removal schedule needs more than")
    fails(capsys, ["remove-ln", ln_run, "--out", str(tmp_path / "x"), "--set", "lr=-1"], "remove-ln.lr must")
    fails(capsys, ["remove-ln", ln_run, "--out", str(plain)], "holds no LayerNorm removal")
    assert not (tmp_path / "x").exists()
    done = tmp_path / "done"
    api.remove_ln(ln_run, done, QUICK_REMOVAL, progress=False)
    fails(capsys, ["remove-ln", ln_run, "--out", str(done)], "already holds a LayerNorm removal")
    fails(capsys, ["remove-ln", ln_run, "--out", str(done), "--resume", "--set", "gap=11"],
          "different settings (gap")
    quantized = api.make_config("quick", TINY_LN + ["quant.mlp=ternary"])
    with pytest.raises(TritlensError, match="quant.mlp is ternary"):
        api.remove_ln(api.train(config=quantized.with_overrides(["train.steps=2"]), progress=False),
                      tmp_path / "q")


class _Shift(Extension):
    """A trainable offset added to the answer logits through a hook, with an L2 penalty."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.shift = torch.nn.Parameter(torch.zeros(n))
        self.register_buffer("seen", torch.zeros((), dtype=torch.long))

    def begin_step(self, step: int) -> None:
        self.seen.fill_(step + 1)

    def fwd_hooks(self):
        return [("blocks.0.hook_resid_post", lambda x, hook: x + self.shift)]

    def loss(self, data):
        return 1e-2 * self.shift.pow(2).sum()


def test_extensions_train_and_resume_exactly(tmp_path, crash_at):
    cfg = api.make_config("quick", ["task.p=23", "model.d_model=32", "model.d_head=8", "model.d_mlp=64",
                                    "train.steps=40", "train.eval_every=10", "train.checkpoint_every=20",
                                    "train.grad_clip=0.5", "train.batch_size=64"])

    def fit(out, resume=False):
        out.mkdir(exist_ok=True)
        ext = _Shift(32)
        trainer = trainer_mod.Trainer(cfg, RunDir(out), progress=False, extensions=[ext])
        if resume:
            trainer.restore()
        trainer.fit()
        return trainer, ext

    ref, ref_ext = fit(tmp_path / "ref")
    assert float(ref_ext.shift.detach().abs().sum()) > 0 and int(ref_ext.seen) == 40
    with crash_at(27):
        fit(tmp_path / "cut")
    cut, cut_ext = fit(tmp_path / "cut", resume=True)
    assert torch.equal(cut_ext.shift, ref_ext.shift)
    a, b = ref.model.state_dict(), cut.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
