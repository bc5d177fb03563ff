"""Trading bots built on lighter_sync: the strategy interface (bots.strategy), the grid bot (bots.grid)
and the backtester (bots.backtest)."""
