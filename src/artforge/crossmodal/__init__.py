"""Fusing modalities: music drives video (``music_video``), from features of the sound (``audio``).

Everything here works with any generator artforge trains, through the methods' shared latent interface
(``latents``, ``latent_path``, ``latent_blend``, ``decode``), and streams its output: a video's frames are made
in batches and piped to ffmpeg, never all held in memory.
"""
