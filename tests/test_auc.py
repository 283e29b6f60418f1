"Lesson 07: AUC reshaping and the pairwise AUC surrogate, fine-tuning from a stored run (`Recipe.init`), bad input."
import json
import numpy as np, pytest, torch, torch.nn.functional as F
from imbalance_course.auc import AUC_RECIPES, AUCReshape, auc_reshape_loss, pairwise_auc_loss, reshape_weights, spec_threshold
from imbalance_course.cli import main
from imbalance_course.recipes import Recipe, RECIPES
from imbalance_course.store import get_run, load_data, run_dir, run_recipe
from imbalance_course.train import Callback, load_checkpoint
from test_resample import tiny_cnn  # noqa: F401 (registers the tiny test model)

START = {'model': 'tiny_cnn', 'epochs': 1, 'bs': 64}  # the run every test fine-tune starts from


def _recipe(name, **kw): return RECIPES[name].replace(**(dict(dataset='synthetic', epochs=2, bs=64, model='tiny_cnn', init=START) | kw))


def test_spec_threshold_reaches_the_target_and_no_lower_threshold_does():
    rng = np.random.default_rng(0)
    for n in (1, 7, 10, 333):
        s = np.round(rng.random(n), 2)  # ties included
        for t in (0.05, 0.5, 0.9, 0.95, 0.999):
            th = spec_threshold(s, t)
            assert (s < th).mean() >= t
            lower = s[s < th]
            if len(lower): assert (s < lower.max()).mean() < t  # the next threshold down loses the target
    for bad in (0, 1, 1.5, -0.1, 'high'):
        with pytest.raises(ValueError, match='must lie strictly between 0 and 1'): spec_threshold(s, bad)
    with pytest.raises(ValueError, match='no negative scores'): spec_threshold([], 0.9)


def test_boost_zero_is_cross_entropy():
    torch.manual_seed(0)
    y = torch.randint(0, 2, (64,))
    two, one = torch.randn(64, 2), torch.randn(64, 1)
    assert torch.equal(auc_reshape_loss(two, y, theta=0.7, boost=0.), F.cross_entropy(two, y, reduction='none'))
    assert torch.allclose(auc_reshape_loss(one, y, theta=0.7, boost=0.), F.binary_cross_entropy_with_logits(one[:, 0], y.float(), reduction='none'))


def _grads(loss_fn, logits, y):
    z = logits.clone().requires_grad_(); loss_fn(z, y).sum().backward(); return z.grad


def test_only_positives_below_theta_change_their_gradient_which_is_that_of_minus_log_p_minus_n():
    torch.manual_seed(1)
    z, y, theta, n = torch.randn(200, 2) * 2, torch.randint(0, 2, (200,)), 0.6, 0.1
    p = z.softmax(1)[:, 1]
    g_ce = _grads(lambda a, b: F.cross_entropy(a, b, reduction='none'), z, y)
    g = _grads(lambda a, b: auc_reshape_loss(a, b, theta, n, max_weight=1e9), z, y)
    boosted = (y == 1) & (p < theta)
    assert boosted.sum() > 10 and (~boosted).sum() > 10
    assert torch.allclose(g[~boosted], g_ce[~boosted])                      # negatives and positives above θ: plain CE
    assert not torch.allclose(g[boosted], g_ce[boosted])
    ok = boosted & (p > n + 0.01)  # the paper's form is defined where p > n
    literal = _grads(lambda a, b: -torch.log(a.softmax(1)[:, 1] - n), z[ok], y[ok])  # −log(p − n), the reimplementations' loss
    assert torch.allclose(g[ok], literal, atol=1e-5)
    w = reshape_weights(p, y, theta, n, max_weight=10.)
    assert w.max() <= 10 and (w[(y == 1) & (p <= n)] == 10).all() and (w[~boosted] == 1).all()


def test_pairwise_loss_matches_a_double_loop_and_needs_both_classes():
    torch.manual_seed(2)
    z, y = torch.randn(20, 2), torch.tensor([0, 1] * 10)
    p = z.softmax(1)[:, 1].tolist()
    pairs = [max(0., 0.5 - (p[i] - p[j])) ** 2 for i in range(20) if y[i] == 1 for j in range(20) if y[j] == 0]
    assert abs(pairwise_auc_loss(z, y, 0.5).item() - np.mean(pairs)) < 1e-6
    with pytest.raises(ValueError, match='holds no negatives'): pairwise_auc_loss(z, torch.ones(20, dtype=torch.long))
    with pytest.raises(ValueError, match='holds no positives'): pairwise_auc_loss(z, torch.zeros(20, dtype=torch.long))


class Start(Callback):
    "The weights the loop starts from, and the split θ was set from."
    def before_fit(self, tr): self.sd = {k: v.clone() for k, v in tr.model.state_dict().items()}


@pytest.mark.parametrize('name', AUC_RECIPES)
def test_fine_tune_starts_from_the_stored_run_of_the_same_data_and_seed(name, tmp_path):
    recipe = _recipe(name, seed=3)
    start = Recipe.from_dict(recipe.init)
    assert (start.dataset, start.seed, start.model['name'], start.epochs) == ('synthetic', 3, 'tiny_cnn', 1)
    rec = Start()
    res = run_recipe(recipe, tmp_path/'run', progress=False, device='cpu', cbs=[rec], store=tmp_path/'store')
    best = load_checkpoint(run_dir(start, tmp_path/'store')/'best.pt')['model']
    assert all(torch.equal(rec.sd[k], best[k]) for k in best)  # epoch 0 of the fine-tune = the start run's best weights
    assert len(res['history']) == 2 and res['at_val_spec95']['val_specificity'] >= 0.95
    if name == 'auc_reshape': assert all(0 < h['theta'] < 1 and 0 <= h['below'] <= 1 and 0 <= h['boosted'] <= 1 for h in res['history'])


def test_theta_comes_from_the_training_split(tmp_path):
    seen = []
    class Spy(AUCReshape):
        def fit_theta(self, model, train): seen.append(train); return super().fit_theta(model, train)
    recipe = _recipe('auc_reshape')
    data = load_data(recipe)
    from imbalance_course.train import fit
    from imbalance_course.store import build_model
    model = build_model(recipe, data, pretrained=False)
    tr = fit(model, data.train, data.val, loss_fn=Spy(), epochs=2, bs=64, device='cpu', progress=False)
    assert len(seen) == 2 and all(s is tr.train for s in seen)  # before each epoch, from the training split: never val or test


def test_resumed_run_reproduces_the_uninterrupted_one(tmp_path):
    class StopAfterFirstEpoch(Callback):
        def after_epoch(self, tr):
            if tr.epoch == 0: tr.save(); raise KeyboardInterrupt
    recipe, store = _recipe('auc_reshape', epochs=3), tmp_path/'store'
    full = run_recipe(recipe, tmp_path/'full', progress=False, device='cpu', store=store)
    with pytest.raises(KeyboardInterrupt):
        run_recipe(recipe, tmp_path/'cut', progress=False, device='cpu', ckpt_every=0, cbs=[StopAfterFirstEpoch()], store=store)
    resumed = run_recipe(recipe, tmp_path/'cut', progress=False, device='cpu', store=store)
    assert [(h['train_loss'], h['theta']) for h in resumed['history']] == [(h['train_loss'], h['theta']) for h in full['history']]


def test_run_keys_cover_the_start_run_and_leave_old_keys_alone():
    assert Recipe().key == '953de01d12af'  # the baseline's key before `init` existed: stored runs stay valid
    a, b = _recipe('auc_reshape'), _recipe('auc_reshape', init=START | {'epochs': 2})
    assert a.key != b.key and a.key == Recipe.from_dict(json.loads(json.dumps(a.to_dict()))).key
    assert a.replace(name='other').key == a.key and a.replace(seed=1).init['seed'] == 1


def test_bad_input_is_refused_before_anything_is_written(tmp_path, capsys):
    for kw, msg in [(dict(target_spec=1.0), 'target_spec=1.0 must lie strictly between 0 and 1'), (dict(target_spec=0), 'target_spec=0 must lie'),
                    (dict(boost=1.0), 'boost=1.0 must lie in'), (dict(boost=-0.1), 'boost=-0.1 must lie in'),
                    (dict(max_weight=0.5), 'max_weight=0.5 must be at least 1'), (dict(update='step'), "update='step' is unknown")]:
        with pytest.raises(ValueError, match=msg): AUCReshape(**kw)
    cb = AUCReshape(update='batch')
    with pytest.raises(ValueError, match='a batch of 4 images has no negatives'): cb(torch.randn(4, 2), torch.ones(4, dtype=torch.long))
    with pytest.raises(ValueError, match='needs a binary task'): auc_reshape_loss(torch.randn(4, 3), torch.zeros(4, dtype=torch.long), 0.5)
    for spec, msg in [('auc_reshape:boost=1.5', 'boost=1.5 must lie in [0, 1)'), ('auc_reshape:target_spec=0.9x', 'must be a number'),
                      ('pairwise_auc:margin=0', 'margin=0.0 must be a positive number')]:
        code = main(['train', '--recipe', 'auc_reshape', '--loss', spec, '--dataset', 'synthetic', '--out', str(tmp_path/'x'),
                     '--store', str(tmp_path/'store'), '--quiet', '--device', 'cpu'])
        assert code == 2 and msg in capsys.readouterr().err, spec
    assert not (tmp_path/'x').exists() and not (tmp_path/'store').exists()
    with pytest.raises(ValueError, match='works on binary tasks'):
        from imbalance_course.recipes import build
        build('loss', Recipe(loss='auc_reshape').loss, n_cls=3)
    with pytest.raises(ValueError, match='from `pretrained` .* or from `init`, not both'): Recipe(init='baseline', pretrained='w.pth')
    with pytest.raises(ValueError, match="recipe 'nope' is unknown"): Recipe(init='nope')
    with pytest.raises(SystemExit) as e: main(['train', '--init', '{"epochs": 30', '--show'])
    assert e.value.code == 2 and 'is not a JSON object of recipe fields' in capsys.readouterr().err


def test_a_start_run_of_another_network_is_refused(tmp_path):
    recipe = _recipe('finetune_ce', init=START | {'loss': 'bce'})  # one logit there, two here
    with pytest.raises(ValueError, match='does not fit this recipe.s network'):
        run_recipe(recipe, tmp_path/'run', progress=False, device='cpu', store=tmp_path/'store')
    assert not (tmp_path/'run').exists()


def test_cli_fine_tunes_and_compare_overrides_the_start(tmp_path, capsys):
    out = tmp_path/'ft'
    code = main(['train', '--recipe', 'finetune_ce', '--dataset', 'synthetic', '--model', 'tiny_cnn', '--epochs', '1', '--bs', '64',
                 '--init', json.dumps(START), '--store', str(tmp_path/'store'), '--out', str(out), '--quiet', '--device', 'cpu'])
    assert code == 0 and 'at 90% sensitivity on val' in capsys.readouterr().out
    cfg = json.loads((out/'config.json').read_text())['recipe']
    assert cfg['init']['epochs'] == 1 and cfg['init']['dataset'] == 'synthetic'
    from imbalance_course.comparison import compare
    ft, base = _recipe('finetune_ce', epochs=1, init=START | {'bs': 32}), RECIPES['baseline'].replace(dataset='synthetic', model='tiny_cnn', epochs=1, bs=64)
    runs, _ = compare([ft, base], ['synthetic'], seeds=[0], store=tmp_path/'store', out=None, init=START, progress=False, device='cpu')
    assert list(runs.key) == [ft.replace(init=START).key, base.key]  # `init` replaced the fine-tune's start only
    assert 'at_val_spec90_test_sensitivity' in runs and 'test_pauc10' in runs


@pytest.mark.parametrize('update', ['epoch', 'batch'])
def test_an_untrained_model_gets_its_positives_boosted(update, tmp_path):
    recipe = RECIPES['auc_reshape_scratch'].replace(dataset='synthetic', epochs=1, bs=64, model='tiny_cnn', loss=f'auc_reshape:update={update}')
    h = run_recipe(recipe, tmp_path/'run', progress=False, device='cpu')['history'][0]
    assert h['boosted'] > 0.2  # a fresh network cannot yet rank most positives above 90% of the negatives
    assert (h['below'] > 0.2) if update == 'epoch' else 'below' not in h


def test_lesson_store_is_temporary_in_fast_mode_and_gone_after_exit(tmp_path):
    import os, subprocess, sys
    code = ("from imbalance_course.store import lesson_store; s = lesson_store(); (s/'run').mkdir(); (s/'run'/'best.pt').write_bytes(b'x'); print(s)")
    env = dict(os.environ, IMBALANCE_COURSE_FAST='1')
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env, check=True)
    path = r.stdout.strip()
    assert path and 'imbalance-course-store-' in path and not os.path.exists(path)  # deleted when Python exited
    env = {k: v for k, v in os.environ.items() if k not in ('IN_TEST', 'IMBALANCE_COURSE_FAST')}
    r = subprocess.run([sys.executable, '-c', "from imbalance_course.store import lesson_store; print(lesson_store())"], capture_output=True, text=True, env=env, check=True)
    assert r.stdout.strip() == '../runs/store'
