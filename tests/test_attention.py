"Lesson 08: the registered ResNet-22 / CBAM networks — shapes, CBAM's identity property, pretrained weights, resume, bad input."
import json
import pytest, torch, torch.nn as nn
from timm.layers.cbam import CbamModule
from imbalance_course.attention import ATTENTION_OPTIONS, ATTENTION_RECIPES, attention_maps, cam_layer, option_shapes, stage_shapes
from imbalance_course.cli import main
from imbalance_course.models import MODELS, create_model
from imbalance_course.recipes import RECIPES, Recipe
from imbalance_course.data import make_synthetic
from imbalance_course.train import Callback, fit

NEW = ['resnet18_cbam', 'resnet22', 'resnet22_cbam']


class Ones(nn.Module):
    def forward(self, x): return torch.ones_like(x)


@pytest.mark.parametrize('name', ['resnet18'] + NEW)
def test_every_model_takes_28_and_64_px_and_1_or_3_channels(name):
    for size in (28, 64):
        for c in (1, 3):
            for kw in ({}, {'upsample': 64}) if name != 'resnet18' else ({},):
                m = create_model(name, in_chans=c, n_cls=3, **kw).eval()
                with torch.no_grad(): assert m(torch.rand(2, c, size, size)).shape == (2, 3)


@pytest.mark.parametrize('name,stem', [('resnet18_cbam', 'standard'), ('resnet18_cbam', 'light'), ('resnet22_cbam', 'light'), ('resnet22_cbam', 'standard')])
def test_cbam_with_all_weights_at_one_is_the_plain_network(name, stem):
    torch.manual_seed(0)
    att, plain = create_model(name, stem=stem).eval(), create_model(name, stem=stem, attention='none').eval()
    missing = plain.load_state_dict({k: v for k, v in att.state_dict().items() if '.se.' not in k}, strict=True)
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        assert not torch.equal(att(x), plain(x))
        for m in att.modules():
            if isinstance(m, CbamModule): m.channel.gate, m.spatial.gate = Ones(), Ones()
        assert torch.equal(att(x), plain(x))


def test_resnet18_without_attention_is_torchvisions_resnet18():
    tv, tm = create_model('resnet18').eval(), create_model('resnet18_cbam', attention='none').eval()
    tm.load_state_dict(tv.state_dict(), strict=True)
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad(): torch.testing.assert_close(tm(x), tv(x))


def test_pretrained_weights_of_another_architecture_are_refused(tmp_path):
    sd = tmp_path/'resnet18.pt'
    torch.save(create_model('resnet18').body.state_dict(), sd)
    with pytest.raises(ValueError, match='matches resnet22 poorly'): create_model('resnet22', pretrained=sd)
    with pytest.raises(ValueError, match='matches resnet22_cbam poorly'): create_model('resnet22_cbam', pretrained=sd)
    m = create_model('resnet18_cbam', pretrained=sd)  # torchvision's layout fits; only the CBAM layers start fresh
    torch.testing.assert_close(m.body.layer3[1].conv2.weight, torch.load(sd)['layer3.1.conv2.weight'])
    with pytest.raises(ValueError, match="no pretrained weights for 'resnet22'"): create_model('resnet22', pretrained=True)


def test_feature_maps_and_cam_layers():
    assert stage_shapes(create_model('resnet18')).h.tolist() == [7, 4, 2, 1]
    assert stage_shapes(create_model('resnet22')).h.tolist() == [28, 14, 7, 4, 2]
    assert stage_shapes(create_model('resnet22', stem='standard'), 64).h.tolist() == [14, 7, 4, 2, 1]
    assert stage_shapes(create_model('resnet22_cbam', upsample=64)).h.tolist() == [64, 32, 16, 8, 4]
    assert cam_layer(create_model('resnet22')) == 'body.layer4' and cam_layer(create_model('resnet22_cbam', upsample=64)) == 'body.1.layer5'
    with pytest.raises(ValueError, match='no stage of this network keeps a 4×4 map'): cam_layer(create_model('resnet22', stem='standard'), 16)
    assert list(option_shapes().index) == list(ATTENTION_OPTIONS)


def test_attention_maps_are_weights_per_pixel_and_leave_no_hooks():
    m = create_model('resnet18_cbam', attn_stages=[1, 2])
    maps = attention_maps(m, torch.randint(0, 255, (5, 1, 28, 28), dtype=torch.uint8))
    assert list(maps) == ['layer1.0', 'layer1.1', 'layer2.0', 'layer2.1'] and maps['layer2.0'].shape == (5, 4, 4)
    assert all(((v > 0) & (v < 1)).all() for v in maps.values()) and m.training
    assert not any(mm.spatial.gate._forward_hooks for mm in m.modules() if isinstance(mm, CbamModule))


def test_an_interrupted_run_of_a_new_network_resumes_to_the_same_weights(tmp_path, name='resnet22_cbam'):
    "(resnet18_cbam's checkpoints are resnet18's plus CBAM layers; writing 11 M parameters and their optimiser state makes it slow to test.)"
    class StopAfterFirstEpoch(Callback):
        def after_epoch(self, tr):
            if tr.epoch == 0: tr.save(); raise KeyboardInterrupt
    data = make_synthetic(320, seed=0)
    train, val = data[:256], data[256:]
    def run(out, **kw):
        torch.manual_seed(0)  # the same initial weights for every run
        return fit(create_model(name), train, val, epochs=2, bs=64, out=out, progress=False, device='cpu', seed=0, **kw)
    full = run(tmp_path/'full')
    with pytest.raises(KeyboardInterrupt): run(tmp_path/'cut', ckpt_every=0, cbs=[StopAfterFirstEpoch()])
    resumed = run(tmp_path/'cut')
    assert [h['train_loss'] for h in resumed.history] == [h['train_loss'] for h in full.history]
    a, b = (torch.load(p/'last.pt', weights_only=True)['model'] for p in (tmp_path/'full', tmp_path/'cut'))
    assert a.keys() == b.keys() and any('.se.' in k for k in a) and all(torch.equal(a[k], b[k]) for k in a)


def test_recipes_differ_from_the_baseline_in_the_network_only():
    base = RECIPES['baseline'].to_dict()
    for name in ATTENTION_RECIPES[1:]:
        d = RECIPES[name].to_dict()
        assert {k for k in d if d[k] != base[k]} <= {'name', 'model', 'loss'}
    assert RECIPES['resnet22_cbam_focal'].loss['name'] == 'focal' and Recipe().key == '953de01d12af'


def test_bad_architecture_settings_are_refused_by_the_cli(tmp_path, capsys):
    for spec, msg in [('resnet22:stem=tiny', 'choose one of: standard, light'), ('resnet22_cbam:attn_stages=[0]', 'from 1 to 5'),
                      ('resnet18_cbam:upsample=4', 'upsample=4'), ('resnet22:attention=se', 'choose one of: none, cbam'),
                      ('resnet99', "model 'resnet99' is unknown")]:
        code = main(['train', '--model', spec, '--dataset', 'synthetic', '--out', str(tmp_path/'x'), '--quiet', '--device', 'cpu'])
        assert code == 2 and msg in capsys.readouterr().err and not (tmp_path/'x').exists()
    for name in NEW: assert name in MODELS


def test_the_cli_names_the_new_networks_with_their_settings(capsys):
    assert main(['train', '--model', 'resnet22_cbam:stem=standard,upsample=64', '--dataset', 'breastmnist', '--show']) in (0, None)
    shown = json.loads(capsys.readouterr().out)
    assert shown['model'] == {'name': 'resnet22_cbam', 'stem': 'standard', 'attention': 'cbam', 'attn_stages': None, 'upsample': 64}
