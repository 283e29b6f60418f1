"""The one training loop carries what later lessons need, without copying it: a sampler, SAM's second
forward/backward pass, EMA weights for evaluation, any loss, and multi-class data. Also label remapping."""
import numpy as np, pytest, torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import WeightedRandomSampler
from imbalance_course.data import ImageData, Split, load_dataset, make_synthetic, set_seed
from imbalance_course.models import create_model
from imbalance_course.train import Callback, NaNLossError, evaluate, fit, unwrap


@pytest.fixture(scope='module')
def syn():
    return make_synthetic(512, ratio=7, difficulty=0.1, seed=0), make_synthetic(256, ratio=7, difficulty=0.1, seed=1)


class CountForward(Callback):
    "Counts the model's forward passes during training."
    def before_fit(self, t):
        self.n = 0
        t.model.register_forward_hook(lambda m, i, o: setattr(self, 'n', self.n + m.training))


class SAM(Callback):
    "Sharpness-aware minimisation (Foret et al. 2021) as a `before_step` hook: ascend to w+e, take the gradient there, come back."
    def __init__(self, rho=0.05): self.rho = rho
    def before_step(self, t):
        ps = [p for p in t.model.parameters() if p.grad is not None]
        norm = torch.norm(torch.stack([p.grad.norm() for p in ps]))
        es = [p.grad * self.rho / (norm + 1e-12) for p in ps]
        with torch.no_grad():
            for p, e in zip(ps, es): p.add_(e)
        t.opt.zero_grad(); t.closure()
        with torch.no_grad():
            for p, e in zip(ps, es): p.sub_(e)


class EMA(Callback):
    "Exponential moving average of the weights with torch's `AveragedModel`; evaluation uses the average."
    def before_fit(self, t):
        self.ema = AveragedModel(t.model, multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=True)
        t.eval_model = self.ema
    def after_step(self, t): self.ema.update_parameters(t.model)


def test_sampler_balances_batches(syn):
    tr, va = syn
    w = 1.0 / torch.bincount(tr.y).double()[tr.y]
    seen = []
    class Record(Callback):
        def before_batch(self, t): seen.append(t.yb.float().mean().item())
    fit(create_model(), tr, va, epochs=2, bs=64, sampler=WeightedRandomSampler(w, len(tr)), cbs=[Record()], progress=False)
    assert abs(np.mean(seen) - 0.5) < 0.1 and tr.y.float().mean() < 0.2  # balanced batches from an imbalanced split


def test_sam_takes_two_passes_per_step(syn):
    tr, va = syn
    plain, sam = CountForward(), CountForward()
    fit(create_model(), tr, va, epochs=1, bs=64, cbs=[plain], progress=False)
    t = fit(create_model(), tr, va, epochs=1, bs=64, cbs=[sam, SAM()], progress=False)
    assert plain.n == len(tr) // 64 and sam.n == 2 * plain.n and t.best > 0.5


def test_ema_weights_are_evaluated_and_kept(syn):
    tr, va = syn
    set_seed(0); ema = EMA()
    t = fit(create_model(), tr, va, epochs=2, bs=64, cbs=[ema], progress=False)
    assert t.eval_model is ema.ema and len(t.log) == 2
    set_seed(0); ema, raw = EMA(), []
    class LastRaw(Callback):
        def after_fit(self, t): raw.append({k: v.clone() for k, v in t.model.state_dict().items()})
    t = fit(create_model(), tr, None, epochs=2, bs=64, cbs=[ema, LastRaw()], progress=False)
    final, avg = t.model.state_dict(), unwrap(ema.ema).state_dict()
    assert all(torch.equal(final[k], avg[k]) for k in final)  # the run keeps the averaged weights ...
    assert not all(torch.equal(final[k], raw[0][k]) for k in final)  # ... not the last raw ones


def test_any_loss_callable(syn):
    tr, va = syn
    def weighted_ce(inp, targ): return torch.nn.functional.cross_entropy(inp, targ, weight=torch.tensor([1., 7.]))
    t = fit(create_model(), tr, va, epochs=1, bs=64, loss_fn=weighted_ce, progress=False)
    assert len(t.history) == 1 and np.isfinite(t.history[0]['train_loss'])


def test_multiclass_fit_and_evaluate():
    s = [make_synthetic(n, ratio=2, seed=i) for i, n in enumerate((384, 192, 192))]
    three = [Split(x.x, torch.where(x.y == 1, 2, torch.arange(len(x)) % 2), x.mask) for x in s]  # labels 0, 1, 2
    data = ImageData('three', ('a', 'b', 'lesion'), None, *three)
    set_seed(0); model = create_model(n_cls=3)
    t = fit(model, data.train, data.val, epochs=1, bs=64, progress=False)
    res = evaluate(model, data)
    assert res['threshold'] is None and {'recall_0', 'recall_1', 'recall_2', 'balanced_accuracy'} <= set(res['test'])
    assert 0 <= res['test']['auc'] <= 1 and 'val_auc' in t.history[0]


def test_breastmnist_malignant_is_positive(tmp_path):
    "BreastMNIST stores malignant as 0; the course remaps it to 1."
    raw = np.array([[0], [1], [1], [0]], np.uint8)
    np.savez(tmp_path/'breastmnist.npz', **{f'{s}_{k}': v for s in ('train', 'val', 'test')
                                             for k, v in (('images', np.zeros((4, 28, 28), np.uint8)), ('labels', raw))})
    d = load_dataset('breastmnist', data_dir=tmp_path)
    assert d.train.y.tolist() == [1, 0, 0, 1] and d.classes[d.pos_class] == 'malignant'


class ScoreWeights(Callback):
    "AUC-reshaping-like: per-image state keyed by training index; weights from the model's own scores in `after_pred`."
    def before_fit(self, t): self.seen, self.checked = torch.zeros(len(t.train)), 0
    def after_pred(self, t):
        assert torch.equal(t.train.y[t.idx], t.yb)  # idx names the images in the batch
        p = t.pred.detach().softmax(1)[:, 1]
        t.sample_weight = 1 + 4 * ((t.yb == 1) & (p < 0.5)).float()  # boost positives the model still scores low
        self.seen[t.idx] += 1
    def after_loss(self, t):
        per = torch.nn.functional.cross_entropy(t.pred, t.yb, reduction='none')
        assert torch.allclose(t.loss, (per * t.sample_weight).sum() / t.sample_weight.sum(), atol=1e-6)
        self.checked += 1


def test_after_pred_weights_by_index(syn):
    tr, va = syn
    cb = ScoreWeights()
    t = fit(create_model(), tr, va, epochs=2, bs=64, cbs=[cb], progress=False)
    assert cb.checked == 2 * t.steps and cb.seen.sum() == 2 * t.steps * 64 and cb.seen.max() <= 2


def test_nan_guard_on_per_sample_losses_and_second_pass(syn):
    tr, _ = syn
    nan_ce = lambda inp, targ: torch.nn.functional.cross_entropy(inp, targ, reduction='none') * float('nan')
    with pytest.raises(NaNLossError, match='at epoch 1, batch 1'):
        fit(create_model(), tr, None, epochs=1, bs=64, loss_fn=nan_ce, progress=False)
    class NaNSecondPass(Callback):
        def before_step(self, t):
            t.loss_fn = nan_ce; t.opt.zero_grad(); t.closure()
    with pytest.raises(NaNLossError, match='Lower the learning rate'):
        fit(create_model(), tr, None, epochs=1, bs=64, cbs=[NaNSecondPass()], progress=False)


def test_second_pass_updates_bn_stats_once(syn):
    tr, _ = syn
    class Check(Callback):
        def before_step(self, t):
            bn = t.model.body.bn1
            before = (bn.num_batches_tracked.clone(), bn.running_mean.clone())
            t.opt.zero_grad(); t.closure()
            assert bn.num_batches_tracked == before[0] and torch.equal(bn.running_mean, before[1])
    t = fit(create_model(), tr, None, epochs=1, bs=64, cbs=[Check()], progress=False)
    assert t.model.body.bn1.num_batches_tracked.item() == t.steps


def test_callback_names_must_differ(syn):
    tr, _ = syn
    with pytest.raises(ValueError, match="two callbacks are named 'score_weights'"):
        fit(create_model(), tr, None, epochs=1, bs=64, cbs=[ScoreWeights(), ScoreWeights()], progress=False)


def test_single_logit_resumes_and_evaluates(syn, tmp_path):
    tr, va = syn
    data = ImageData('synthetic', ('normal', 'lesion'), 1, tr, va, va)
    class Stop(Callback):
        def after_epoch(self, t):
            if t.epoch == 0: t.save(); raise KeyboardInterrupt
    set_seed(0); full = fit(create_model(single_logit=True), tr, va, epochs=2, bs=64, progress=False)
    set_seed(0)
    with pytest.raises(KeyboardInterrupt): fit(create_model(single_logit=True), tr, va, epochs=2, bs=64, out=tmp_path, cbs=[Stop()], progress=False)
    resumed = fit(create_model(single_logit=True), tr, va, epochs=2, bs=64, out=tmp_path, progress=False)
    assert resumed.log.drop(columns='seconds').equals(full.log.drop(columns='seconds'))
    res = evaluate(resumed.model, data)
    assert res['val']['n'] == len(va) and 0 <= res['at_val_sens90']['test_specificity'] <= 1
    assert torch.load(tmp_path/'best.pt', weights_only=True)['model']['head.weight'].shape == (1, 512)


def test_checkpoint_interval(syn, tmp_path):
    "With a long interval only the last epoch is written; with 0, every epoch; the written epochs are timed."
    tr, _ = syn
    class Written(Callback):
        def before_fit(self, t): self.epochs = []
        def after_epoch(self, t): self.epochs.append(t.saved_epoch)
    w = Written(); t = fit(create_model(), tr, None, epochs=3, bs=128, out=tmp_path/'a', ckpt_every=3600, cbs=[w], progress=False)
    assert w.epochs == [None, None, None] and t.saved_epoch == 3 and t.ckpt_seconds > 0
    w = Written(); fit(create_model(), tr, None, epochs=3, bs=128, out=tmp_path/'b', ckpt_every=0, cbs=[w], progress=False)
    assert w.epochs == [None, 1, 2]  # after_epoch runs before that epoch's write


def test_head_trained_on_features_checkpoints_like_any_model(syn, tmp_path):
    from imbalance_course.train import feature_split, fit_head, load_checkpoint, predict
    tr, va = syn
    set_seed(0); t = fit(create_model(), tr, va, epochs=1, bs=64, progress=False)
    new, _ = fit_head(t.model, feature_split(t.model, tr), feature_split(t.model, va), epochs=2, bs=64, progress=False)
    out = tmp_path/'joined'
    fit(new, tr, va, epochs=1, bs=64, lr=1e-9, out=out, progress=False)  # a checkpoint of the joined model ...
    back = create_model(); back.load_state_dict(load_checkpoint(out/'best.pt')['model'])  # ... loads into a fresh one
    assert np.allclose(predict(back, va), predict(new, va), atol=1e-5)


def test_misspelt_hook_is_refused_with_the_nearest_event():
    from imbalance_course.train import EVENTS, Callback, Trainer
    from imbalance_course.models import create_model
    from imbalance_course.data import make_synthetic
    class Late(Callback):
        def after_epoc(self, tr): pass
    class Fine(Callback):
        def after_epoch(self, tr): pass
        def helper_after_x(self): pass  # not event-like: allowed
    data = make_synthetic(64, size=28, seed=0)
    with pytest.raises(ValueError, match="Late has a method 'after_epoc', which the loop never calls: did you mean 'after_epoch'"):
        Trainer(create_model(), data, cbs=[Late()], bs=16, device='cpu')
    Trainer(create_model(), data, cbs=[Fine()], bs=16, device='cpu')
    assert len(EVENTS) == 9 and all(e.startswith(('before_', 'after_')) for e in EVENTS)
