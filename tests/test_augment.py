"Lesson 05 end to end: augmentation runs inside the one loop, on training batches only, class-aware when asked, resumable."
import pytest, torch
from imbalance_course.augment import AUGMENT_RECIPES, POLICIES, Augment, Policy, augment_batch
from imbalance_course.recipes import RECIPES
from imbalance_course.store import load_data, run_recipe
from imbalance_course.train import Callback, to_input
from test_resample import tiny_cnn  # noqa: F401 (registers the tiny test model)


class Spy(Callback):
    "Keeps every batch the model trains on, after augmentation."
    order = 0
    def __init__(self): self.batches = []
    def before_batch(self, tr): self.batches.append((tr.idx.clone(), tr.xb.clone(), tr.yb.clone()))


class StopAfterFirstEpoch(Callback):
    def after_epoch(self, tr):
        if tr.epoch == 0: tr.save(); raise KeyboardInterrupt


def _recipe(name, **kw): return RECIPES[name].replace(**(dict(dataset='synthetic', epochs=2, bs=64, model='tiny_cnn') | kw))


@pytest.mark.parametrize('name', [n for n in AUGMENT_RECIPES if n != 'baseline'])
def test_augmentation_touches_training_batches_only(name, tmp_path):
    recipe = _recipe(name)
    data = load_data(recipe)
    before = {s: getattr(data, s).x.clone() for s in ('train', 'val', 'test')}
    spy = Spy()
    res = run_recipe(recipe, tmp_path/'run', progress=False, device='cpu', cbs=[spy])
    n_train = len(data.train) if name != 'over_augment' else 2 * int(torch.bincount(data.train.y).max())
    assert len(spy.batches) == recipe.epochs * (n_train // recipe.bs)  # before_batch fires for training batches only
    after = load_data(recipe)
    for s, x in before.items(): assert torch.equal(getattr(after, s).x, x), s  # the data are never written
    changed = torch.cat([(xb != to_input(data.train.x[idx])).flatten(1).any(1) for idx, xb, _ in spy.batches])
    assert changed.any()  # not vacuous: the model did see augmented images
    assert 0 <= res['test']['auc'] <= 1


def test_minority_only_leaves_majority_images_untouched(tmp_path):
    recipe = _recipe('augment_minority')
    data, spy = load_data(recipe), Spy()
    run_recipe(recipe, tmp_path/'run', progress=False, device='cpu', cbs=[spy])
    minority = int(torch.bincount(data.train.y).argmin())
    for idx, xb, yb in spy.batches:
        changed = (xb != to_input(data.train.x[idx])).flatten(1).any(1)
        assert not changed[yb != minority].any() and changed[yb == minority].all()


def test_resumed_run_draws_the_same_augmentations(tmp_path):
    recipe = _recipe('augment', epochs=3)
    full = run_recipe(recipe, tmp_path/'full', progress=False, device='cpu')
    with pytest.raises(KeyboardInterrupt):
        run_recipe(recipe, tmp_path/'cut', progress=False, device='cpu', ckpt_every=0, cbs=[StopAfterFirstEpoch()])
    resumed = run_recipe(recipe, tmp_path/'cut', progress=False, device='cpu')
    assert [h['train_loss'] for h in resumed['history']] == [h['train_loss'] for h in full['history']]


def test_policy_and_setting_errors(tmp_path, capsys):
    with pytest.raises(ValueError, match='degrees=-5 must be >= 0'): Policy(degrees=-5)
    with pytest.raises(ValueError, match=r'vflip=1.5 must be <= 1'): Policy(vflip=1.5)
    with pytest.raises(ValueError, match=r'p=1.5 must be a probability'): Augment(POLICIES['xray'], p=1.5)
    with pytest.raises(ValueError, match='rot90 needs square images'): augment_batch(torch.rand(2, 3, 28, 32), Policy(rot90=True))
    from imbalance_course.cli import main
    for spec, msg in [('augment:policy=xrays', "policy 'xrays' is unknown; choose one of: auto, none, xray, ultrasound, dermoscopy"),
                      ('augment:p=-0.1', 'p=-0.1 must be a probability'), ('augment:minority_p=2', 'minority_p=2.0 must be a probability')]:
        code = main(['train', '--callback', spec, '--dataset', 'synthetic', '--out', str(tmp_path/'x'), '--quiet', '--device', 'cpu'])
        err = capsys.readouterr().err
        assert code == 2 and msg in err, (spec, err)
    assert not (tmp_path/'x').exists()
