"""Many classes and long tails (issue: where the techniques matter): RetinaMNIST by name, multi-class metrics against
scikit-learn, the long-tailed training split, binary-only techniques refusing five classes, selection rules, and the
three decision rules of every evaluation."""
import json
import numpy as np, pytest, torch
from sklearn import metrics as skm
from imbalance_course.cli import main
from imbalance_course.data import DATASETS, dataset_info, load_dataset
from imbalance_course.imbalance import make_longtailed
from imbalance_course.metrics import decide, label_report, pick_offsets, prior_offsets, report
from imbalance_course.comparison import PROBLEMS
from imbalance_course.recipes import build, get_recipe, parse_spec, Recipe
from imbalance_course.store import load_data, run_recipe
from imbalance_course.train import SELECTS, select_epoch


@pytest.fixture(scope='module')
def retina(data_dir):
    if not (data_dir/'retinamnist.npz').exists(): pytest.skip(f"retinamnist.npz is not in {data_dir} (../shared/data has it)")
    return load_dataset('retinamnist', data_dir=data_dir)


def test_every_2d_medmnist_dataset_is_known_from_medmnist_info():
    from medmnist.info import INFO
    flat = {n for n, i in INFO.items() if not n.endswith('3d') and not i['task'].startswith('multi-label')}
    assert flat <= set(DATASETS) and 'chestmnist' not in DATASETS
    assert dataset_info('retinamnist').task == 'ordinal' and dataset_info('breastmnist').classes[1] == 'malignant'
    assert dataset_info('octmnist').sizes == (28, 64, 128, 224) and dataset_info('octmnist').classes == tuple(INFO['octmnist']['label'].values())


def test_multiclass_metrics_match_scikit_learn():
    rng = np.random.default_rng(1)
    targ, prob = rng.integers(0, 5, 500), rng.dirichlet(np.ones(5) * 0.7, 500)
    pred, r = prob.argmax(1), report(targ, prob)
    assert r['balanced_accuracy'] == pytest.approx(skm.balanced_accuracy_score(targ, pred))
    assert r['f1_macro'] == pytest.approx(skm.f1_score(targ, pred, average='macro'))
    assert r['kappa_quadratic'] == pytest.approx(skm.cohen_kappa_score(targ, pred, weights='quadratic'))
    assert r['auc'] == pytest.approx(skm.roc_auc_score(targ, prob, multi_class='ovr'))
    assert [r[f'recall_{k}'] for k in range(5)] == pytest.approx(skm.recall_score(targ, pred, average=None).tolist())


def test_decision_rules():
    prob = np.array([[0.7, 0.2, 0.1], [0.5, 0.1, 0.4], [0.2, 0.3, 0.5]])
    assert decide(prob).tolist() == [0, 0, 2]
    assert decide(prob, prior_offsets([80, 10, 10])).tolist() == [1, 2, 2]  # the prior divided out: 0.7/0.8 < 0.2/0.1
    prob4, targ = np.r_[prob, [[0.2, 0.6, 0.2]]], np.array([0, 2, 2, 1])
    assert label_report(targ, decide(prob4), 3)['balanced_accuracy'] < 1  # argmax misses the second image
    assert label_report(targ, decide(prob4, pick_offsets(targ, prob4)), 3)['balanced_accuracy'] == 1.0  # offsets tuned on it do not
    with pytest.raises(ValueError, match='must all be positive'): prior_offsets([3, 0, 1])


def test_longtail_touches_training_only_and_keeps_every_class(retina, data_dir):
    lt = load_data(Recipe(dataset='retinamnist', imbalance=50, profile='exp'), data_dir)
    counts = np.bincount(lt.train.y.numpy(), minlength=5)
    assert (counts >= 1).all() and (np.diff(counts) <= 0).all() and counts[0] / counts[-1] >= 50
    assert torch.equal(lt.val.x, retina.val.x) and torch.equal(lt.test.y, retina.test.y)
    kept = {tuple(x.flatten().tolist()[:40]) for x in lt.train.x}  # the thinned images are training images
    assert kept <= {tuple(x.flatten().tolist()[:40]) for x in retina.train.x}
    again = make_longtailed(retina.train, 50, seed=1)
    assert np.bincount(again.y.numpy()).tolist() == counts.tolist() and not torch.equal(again.x, lt.train.x)  # the seed picks which


@pytest.mark.parametrize('loss', ['auc_reshape', 'pairwise_auc', 'bce', 'bce_pos_weight', 'sigmoid_focal'])
def test_binary_only_losses_refuse_five_classes(retina, loss):
    with pytest.raises(ValueError, match='2 classes|binary tasks'):
        build('loss', parse_spec('loss', loss), n_cls=5, train=retina.train, data=retina, epochs=1, seed=0, in_chans=3)


def test_cli_refuses_a_binary_loss_on_retinamnist_and_writes_nothing(retina, data_dir, tmp_path, capsys):
    assert main(['train', '--dataset', 'retinamnist', '--loss', 'auc_reshape', '--data-dir', str(data_dir), '--out', str(tmp_path/'run')]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and "'auc_reshape' works on binary tasks" in err and not (tmp_path/'run').exists()


def test_selection_rules_on_a_hand_made_history():
    h = [dict(epoch=1, val_auc=.8, val_balanced_accuracy=.5, val_loss=.9), dict(epoch=2, val_auc=.9, val_balanced_accuracy=.5, val_loss=.7),
         dict(epoch=3, val_auc=.85, val_balanced_accuracy=.6, val_loss=.8)]
    assert {s: select_epoch(h, s) for s in SELECTS} == {'val_auc': 2, 'val_balanced_accuracy': 3, 'val_loss': 2, 'last': 3}
    assert Recipe().key == '953de01d12af' and Recipe(select='val_auc').key != Recipe().key  # set only when asked for: stored keys stay
    with pytest.raises(ValueError, match="select 'best' is unknown"): Recipe(select='best')


def test_retinamnist_trains_from_the_cli_with_three_decision_rules(retina, data_dir, tmp_path, capsys):
    assert main(['train', '--dataset', 'retinamnist', '--epochs', '1', '--data-dir', str(data_dir), '--out', str(tmp_path), '--quiet']) == 0
    res = json.loads((tmp_path/'metrics.json').read_text())
    assert res['threshold'] is None and res['val']['n'] == 120 and res['test']['n'] == 400
    for rule in ('at_argmax', 'at_prior', 'at_tuned'):
        assert {f'test_recall_{k}' for k in range(5)} <= set(res[rule]) and -1 <= res[rule]['test_kappa_quadratic'] <= 1
    assert res['at_argmax']['test_balanced_accuracy'] == pytest.approx(res['test']['balanced_accuracy'])
    assert 'decisions at argmax' in capsys.readouterr().out


def test_labels_beyond_the_class_count_are_refused_with_the_counts(tmp_path):
    arrs = {f'{s}_{k}': v for s in ('train', 'val', 'test')
            for k, v in (('images', np.zeros((6, 28, 28, 3), np.uint8)), ('labels', np.array([[0], [1], [2], [3], [4], [7]], np.uint8)))}
    np.savez(tmp_path/'retinamnist.npz', **arrs)
    with pytest.warns(UserWarning, match='not the official MedMNIST file'), pytest.raises(ValueError, match=r'labels from 0 to 7, outside 0\.\.4 for 5 classes'):
        load_dataset('retinamnist', data_dir=tmp_path, download=False)


def test_problems_for_the_long_tail():
    lt = PROBLEMS['retina_lt'](get_recipe('baseline'))
    assert (lt.dataset, lt.imbalance, lt.profile, lt.epochs) == ('retinamnist', 50., 'exp', 30)
    pn = PROBLEMS['pneumonia_1to50'](get_recipe('baseline'))
    assert (pn.imbalance, pn.imbalance_cls, pn.select) == (50., 1, None)
    assert PROBLEMS['retina'](get_recipe('baseline').replace(select='val_loss')).select == 'val_loss'  # a recipe's own rule wins
