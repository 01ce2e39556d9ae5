# %% [markdown]
# # minimax
#
# (being written)
