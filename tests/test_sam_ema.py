"Lesson 09: SAM/ASAM through the one loop against pytorch-optimizer's own two-step SAM, EMA through torch's AveragedModel, resume, bad input."
import copy
import pytest, torch
from pytorch_optimizer import SAM as Reference, disable_running_stats, enable_running_stats
from imbalance_course.cli import main
from imbalance_course.data import make_synthetic
from imbalance_course.models import create_model
from imbalance_course.recipes import RECIPES, Recipe, build
from imbalance_course.sam_ema import EMA, SAM, SAM_EMA_RECIPES, sharpness
from imbalance_course.train import Callback, Trainer, ce_loss, fit, to_input, unwrap


@pytest.fixture(scope='module')
def syn():
    data = make_synthetic(192, ratio=3, seed=0)
    return data[:128], data[128:]


def one_step(model, train, cbs, opt_func=torch.optim.AdamW, lr=2e-3):
    "One training step of the course's Trainer (one batch = the whole split); returns the trainer."
    return fit(model, train, None, epochs=1, bs=len(train), lr=lr, cbs=cbs, opt_func=opt_func, progress=False, device='cpu', seed=0)


@pytest.mark.parametrize('rho,adaptive,opt_func', [(0.05, False, torch.optim.SGD), (0.5, True, torch.optim.SGD), (0.05, False, torch.optim.AdamW)])
def test_sam_through_the_loop_is_pytorch_optimizers_two_step_sam(syn, rho, adaptive, opt_func):
    "(SGD, at a first learning rate of 0.1, shows the gradient's size in the step; Adam's first step is nearly its sign.)"
    train, _ = syn
    torch.manual_seed(0); model = create_model()
    ref, lr = copy.deepcopy(model), 2.5 if opt_func is torch.optim.SGD else 2e-3
    t = one_step(model, train, [SAM(rho, adaptive)], opt_func, lr)
    # the reference: pytorch-optimizer's SAM wrapping the same optimiser, at the one-cycle schedule's first learning rate and momentum
    fresh = Trainer(copy.deepcopy(ref), train, epochs=1, bs=len(train), opt_func=opt_func, lr=lr, progress=False, device='cpu')
    g = fresh.opt.param_groups[0]
    mom = {'betas': g['betas']} if 'betas' in g else {'momentum': g['momentum']}
    opt = Reference(ref.parameters(), opt_func, rho=rho, adaptive=adaptive, lr=g['lr'], weight_decay=g['weight_decay'], **mom)
    x, y = to_input(train.x), train.y
    def closure():
        disable_running_stats(ref); loss = ce_loss(ref(x), y).mean(); loss.backward(); enable_running_stats(ref); return loss
    ref.train(); ce_loss(ref(x), y).mean().backward(); opt.step(closure)
    a, b = t.model.state_dict(), ref.state_dict()
    plain = one_step(copy.deepcopy(fresh.model), train, [], opt_func, lr).model.state_dict()
    gap = lambda u: max((a[k] - u[k]).abs().max().item() for k, _ in ref.named_parameters())  # weights (BatchNorm buffers: the first pass's in all three)
    assert gap(b) < 1e-6
    if opt_func is torch.optim.SGD: assert gap(plain) > 10 * gap(b)  # SAM's step, not the plain one


def test_rho_zero_is_the_plain_optimiser_step(syn):
    train, _ = syn
    torch.manual_seed(0); model = create_model()
    plain, zero = one_step(copy.deepcopy(model), train, []), one_step(model, train, [SAM(0.)])
    a, b = plain.model.state_dict(), zero.model.state_dict()
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-6) for k in a)


def test_ema_with_decay_zero_is_the_live_model(syn):
    train, val = syn
    seen = []
    class Compare(Callback):
        order = 1  # after EMA's update
        def after_step(self, t):
            live, avg = t.model.state_dict(), unwrap(t.eval_model).state_dict()
            seen.append(all(torch.equal(live[k], avg[k]) for k in live))
    torch.manual_seed(0)
    t = fit(create_model(), train, val, epochs=2, bs=32, cbs=[EMA(0.), Compare()], progress=False, device='cpu')
    assert len(seen) == 8 and all(seen) and isinstance(t.eval_model, torch.optim.swa_utils.AveragedModel)


def test_ema_is_the_exponential_average_of_the_live_weights_and_the_run_keeps_it(syn):
    train, val = syn
    ema, live = EMA(0.9, warmup=False), []
    class Live(Callback):
        def after_step(self, t): live.append(t.model.state_dict()['head.weight'].clone())
    torch.manual_seed(0)
    t = fit(create_model(), train, val, epochs=3, bs=32, cbs=[ema, Live()], progress=False, device='cpu')
    avg = live[0]  # the first update copies; each later one keeps 0.9 of the average
    for w in live[1:]: avg = 0.9 * avg + 0.1 * w
    assert len(live) == 12 == ema.ema.n_averaged.item()
    assert torch.allclose(unwrap(ema.ema).state_dict()['head.weight'], avg, atol=1e-6) and not torch.allclose(avg, live[-1], atol=1e-4)
    kept, best = t.model.state_dict(), t.best_state
    assert all(torch.equal(kept[n], best[n]) for n in kept)  # the run keeps the average's best epoch


def test_an_interrupted_sam_ema_run_resumes_to_the_same_weights(tmp_path, syn):
    train, val = syn
    class StopAfterFirstEpoch(Callback):
        def after_epoch(self, tr):
            if tr.epoch == 0: tr.save(); raise KeyboardInterrupt
    def run(out, extra=()):
        torch.manual_seed(0)
        return fit(create_model('resnet22'), train, val, epochs=2, bs=32, out=out, progress=False, device='cpu', seed=0,
                   cbs=[SAM(0.05), EMA(0.9), *extra], ckpt_every=0)
    full = run(tmp_path/'full')
    with pytest.raises(KeyboardInterrupt): run(tmp_path/'cut', [StopAfterFirstEpoch()])
    resumed = run(tmp_path/'cut')
    assert [h['train_loss'] for h in resumed.history] == [h['train_loss'] for h in full.history]
    for f in ('last.pt', 'best.pt'):
        a, b = (torch.load(p/f, weights_only=True) for p in (tmp_path/'full', tmp_path/'cut'))
        assert all(torch.equal(a['model'][k], b['model'][k]) for k in a['model'])
    a, b = (torch.load(p/'last.pt', weights_only=True)['cbs']['ema'] for p in (tmp_path/'full', tmp_path/'cut'))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_bad_settings_are_refused(tmp_path, capsys):
    for bad in (-0.1, float('nan'), 'big', True): pytest.raises(ValueError, SAM, bad)
    for bad in (1., 1.5, -0.01, float('nan')): pytest.raises(ValueError, EMA, bad)
    cases = [(['--wrapper', 'sam:rho=0'], 'must be > 0'), (['--wrapper', 'asam:rho=-1'], 'must be > 0'),
             (['--callback', 'ema:decay=1'], 'must lie in [0, 1)'), (['--callback', 'ema:decay=-0.5'], 'must lie in [0, 1)'),
             (['--wrapper', 'sharp'], "wrapper 'sharp' is unknown; choose one of: sam, asam")]
    for args, msg in cases:
        code = main(['train', *args, '--dataset', 'synthetic', '--epochs', '1', '--out', str(tmp_path/'x'), '--quiet', '--device', 'cpu'])
        assert code == 2 and msg in capsys.readouterr().err and not (tmp_path/'x').exists()


def test_recipes_differ_from_their_controls_in_the_optimiser_only():
    base = RECIPES['baseline'].to_dict()
    for name in SAM_EMA_RECIPES[1:6]:
        d = RECIPES[name].to_dict()
        assert {k for k in d if d[k] != base[k]} <= {'name', 'wrapper', 'callbacks'}
    for name, control in (('sam_ema_focal', 'focal'), ('sam_drw', 'drw')):
        d, c = RECIPES[name].to_dict(), RECIPES[control].to_dict()
        assert {k for k in d if d[k] != c[k]} == {'name', 'wrapper'} | ({'callbacks'} if 'ema' in name else set())
    assert RECIPES['asam'].wrapper == {'name': 'asam', 'rho': 0.5} and Recipe().key == '953de01d12af'


def test_sharpness_restores_the_weights_and_grows_with_the_noise(syn):
    train, _ = syn
    torch.manual_seed(0); model = create_model().eval()
    before = copy.deepcopy(model.state_dict())
    df = sharpness(model, train, sigmas=(0.01, 0.3), n_draws=2, n=64)
    assert all(torch.equal(before[k], model.state_dict()[k]) for k in before)
    assert len(df) == 4 and (df.base_loss == df.base_loss[0]).all()
    m = df.groupby('sigma').increase.mean()
    assert abs(m[0.01]) < m[0.3]
