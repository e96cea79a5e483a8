"""Build a tiny Coqui VITS model with RANDOM weights (run with a Python that has coqui-tts).

    python tests/tts/coqui_tiny_model.py OUT_DIR

Writes OUT_DIR/model.pth and OUT_DIR/config.json. The model is untrained: it proves that a
Coqui checkpoint + config loads and synthesises through our code, not that it speaks well.
Indonesian letters, no phonemizer (characters in, 16 kHz audio out).
"""

import sys
from pathlib import Path

import torch
from TTS.config.shared_configs import BaseAudioConfig
from TTS.tts.configs.shared_configs import CharactersConfig
from TTS.tts.configs.vits_config import VitsConfig
from TTS.tts.models.vits import Vits, VitsArgs


def build(out: Path) -> None:
    torch.manual_seed(0)
    args = VitsArgs(
        hidden_channels=32, hidden_channels_ffn_text_encoder=64, num_heads_text_encoder=2,
        num_layers_text_encoder=2, num_layers_flow=2, num_layers_posterior_encoder=2,
        resblock_type_decoder="2", resblock_kernel_sizes_decoder=[3], resblock_dilation_sizes_decoder=[[1, 3]],
        upsample_rates_decoder=[8, 8, 4], upsample_initial_channel_decoder=32,
        upsample_kernel_sizes_decoder=[16, 16, 8], use_sdp=False, init_discriminator=False,
        dropout_p_duration_predictor=0.0,
    )
    config = VitsConfig(
        model_args=args,
        use_phonemes=False,
        text_cleaner="multilingual_cleaners",
        characters=CharactersConfig(
            characters_class="TTS.tts.models.vits.VitsCharacters",
            characters="abcdefghijklmnopqrstuvwxyz",
            punctuations="!'(),-.:;? ",
            pad="<PAD>", eos="<EOS>", bos="<BOS>", blank="<BLNK>",
        ),
        audio=BaseAudioConfig(sample_rate=16000, hop_length=256, win_length=1024, fft_size=1024, num_mels=80),
    )
    model = Vits(config)
    out.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.state_dict()}, out / "model.pth")
    config.save_json(str(out / "config.json"))


if __name__ == "__main__":
    build(Path(sys.argv[1]))
