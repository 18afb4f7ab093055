"""The browser studio: a Gradio page (:mod:`.app`) over the studio's actions (:mod:`.actions`) and its
crash-safe gallery (:mod:`.store`)."""
