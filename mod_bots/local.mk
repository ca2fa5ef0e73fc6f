# mod_bots: the Prosody module (included by the top-level Makefile.am).
