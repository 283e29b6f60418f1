"Lesson 06 end to end: every registered loss trains through the one loop; bad settings fail before training."
import numpy as np, pytest, torch
from imbalance_course.losses import LOSS_RECIPES, DeferredReweighting, LDAMLoss, prior_logits
from imbalance_course.models import CosineLinear
from imbalance_course.train import Callback
from imbalance_course.recipes import Recipe, RECIPES
from imbalance_course.store import get_run, load_data, run_model, run_recipe
from imbalance_course.train import evaluate
from test_resample import Record, tiny_cnn  # noqa: F401 (registers the tiny test model)


@pytest.mark.parametrize('name', [n for n in LOSS_RECIPES if n != 'baseline'])
def test_loss_trains_and_reports_ece(name, tmp_path):
    recipe = RECIPES[name].replace(dataset='synthetic', epochs=2, bs=64, model='tiny_cnn')
    res = run_recipe(recipe, tmp_path/'run', progress=False, device='cpu')
    assert 0 <= res['test']['ece'] <= 1 and 0 <= res['test']['auc'] <= 1
    assert all(torch.isfinite(torch.tensor(h['train_loss'])) for h in res['history'])


def test_drw_switches_on_in_the_last_epochs(tmp_path):
    rec = Record()
    class Seen(Record):
        def after_epoch(self, tr): self.active = [*getattr(self, 'active', []), tr.loss_fn.active]
    seen = Seen()
    recipe = RECIPES['drw'].replace(dataset='synthetic', epochs=5, bs=64, model='tiny_cnn')
    run_recipe(recipe, tmp_path/'run', progress=False, device='cpu', cbs=[seen])
    assert seen.active == [False] * 4 + [True]  # start=0.8 of 5 epochs: epoch index 4 on


@pytest.mark.parametrize('name', ['ldam', 'ldam_drw'])
def test_ldam_trains_a_cosine_head(name, tmp_path):
    "The loss decides the head: LDAM's recipes get a CosineLinear head at its scale, through the one loop, and resume with it."
    class Head(Callback):
        def before_fit(self, tr): self.head, self.loss = tr.model.head, tr.loss_fn
    seen = Head()
    recipe = RECIPES[name].replace(dataset='synthetic', epochs=2, bs=64, model='tiny_cnn')
    res = run_recipe(recipe, tmp_path/'run', progress=False, device='cpu', cbs=[seen])
    assert isinstance(seen.head, CosineLinear) and seen.head.scale == 30.
    assert isinstance(seen.loss, DeferredReweighting if name == 'ldam_drw' else LDAMLoss)
    again = run_recipe(recipe, tmp_path/'run', progress=False, device='cpu')  # finished run: its checkpoint loads into the same head
    assert again['test']['auc'] == res['test']['auc']


def test_run_model_rebuilds_the_head_the_loss_needs(tmp_path):
    "A stored LDAM run comes back as a cosine-head network whose evaluation reproduces the stored metrics exactly."
    recipe = RECIPES['ldam'].replace(dataset='synthetic', epochs=2, bs=64, model='tiny_cnn')
    res = get_run(recipe, tmp_path, progress=False, device='cpu')
    model, data = run_model(recipe, tmp_path)
    assert isinstance(model.head, CosineLinear) and not model.training
    assert evaluate(model, data, recipe.threshold)['test'] == res['test']


def test_cli_rejects_bad_loss_settings(tmp_path, capsys):
    "The command's own entry point, in-process (test_cli runs the installed script end to end)."
    from imbalance_course.cli import main
    for spec, msg in [('focal:gamma=-1', 'gamma=-1.0 must be >= 0'), ('weighted_ce:scheme=effective,beta=1', 'beta=1.0 must lie in [0, 1)'),
                      ('logit_adjusted:tau=-0.5', 'tau=-0.5 must be >= 0'), ('weighted_ce:weights=[1,-2]', 'must be finite, >= 0'),
                      ('ldam:s=0', 's=0.0 must be a positive number'), ('ldam:max_m=nan', 'max_m=nan must be a positive number')]:
        code = main(['train', '--loss', spec, '--dataset', 'synthetic', '--out', str(tmp_path/'x'), '--quiet', '--device', 'cpu'])
        err = capsys.readouterr().err
        assert code == 2 and msg in err, (spec, err)
    assert not (tmp_path/'x').exists()  # nothing written: the loss is built before config.json


def test_fit_head_retrains_a_head_of_the_same_kind():
    "Lesson 04's feature-space SMOTE retrains the head with `fit_head`: a cosine head stays a cosine head, at its scale."
    from imbalance_course.data import load_dataset
    from imbalance_course.models import create_model
    from imbalance_course.train import feature_split, fit_head
    syn = load_dataset('synthetic', n=(200, 100, 100))
    model = create_model('tiny_cnn', head={'name': 'cosine', 'scale': 30.})
    new, _ = fit_head(model, feature_split(model, syn.train), epochs=1, bs=50, progress=False)
    assert isinstance(new.head, CosineLinear) and new.head.scale == 30. and new.head is not model.head


@pytest.mark.parametrize('loss', ['focal', 'sigmoid_focal'])
def test_prior_bias_sets_the_head_before_the_first_epoch(loss, tmp_path):
    "Lin et al.'s start through the one loop: the rarest training class starts at probability pi, on two logits or one; a resumed run keeps its head."
    class Head(Callback):
        order = 0  # after prior_bias (order -10)
        def before_fit(self, tr): self.bias = tr.model.head.bias.detach().clone()
    seen = Head()
    recipe = Recipe(name='t', loss=loss, callbacks=['prior_bias:pi=0.05'], dataset='synthetic',
                    epochs=2, bs=64, model='tiny_cnn')
    res = run_recipe(recipe, tmp_path/'run', progress=False, device='cpu', cbs=[seen])
    counts = np.bincount(load_data(recipe).train.y.numpy(), minlength=2)
    assert counts[1] < counts[0]
    assert torch.allclose(seen.bias, prior_logits(counts, 0.05, seen.bias.numel()))
    p1 = seen.bias.sigmoid() if seen.bias.numel() == 1 else seen.bias.softmax(0)[1:]
    assert abs(p1.item() - 0.05) < 1e-5
    seen2 = Head()
    again = run_recipe(recipe, tmp_path/'run', progress=False, device='cpu', cbs=[seen2])  # finished: resumed at its last epoch
    assert again['test']['auc'] == res['test']['auc']
    assert not torch.allclose(seen2.bias, seen.bias)  # the trained head came back from the checkpoint; prior_bias left it alone


def test_prior_bias_refuses_bad_settings_and_a_cosine_head(tmp_path):
    with pytest.raises(ValueError, match=r'pi=1.5 must lie in \(0, 1\)'):
        run_recipe(Recipe(name='t', callbacks=['prior_bias:pi=1.5'], dataset='synthetic', epochs=1, bs=64, model='tiny_cnn'), tmp_path/'a', progress=False, device='cpu')
    with pytest.raises(ValueError, match='drop the callback for a cosine head'):
        run_recipe(Recipe(name='t', loss='ldam', callbacks=['prior_bias'], dataset='synthetic', epochs=1, bs=64, model='tiny_cnn'), tmp_path/'b', progress=False, device='cpu')
