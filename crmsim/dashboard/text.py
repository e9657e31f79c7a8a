"""The dashboard's words in English and Chinese (控件与指标的中英文名称).

Control labels come from :mod:`crmsim.controls` (shared with the notebooks); this module holds
the page's own words and the Chinese names of the KPIs students read most.
"""

from __future__ import annotations

LANGUAGES = {"en": "English", "zh": "中文"}

WORDS: dict[str, tuple[str, str]] = {
    "title": ("crmsim classroom — customer relationship management lab",
              "crmsim 课堂 — 客户关系管理实验室"),
    "scenario": ("Scenario", "场景"),
    "upload": ("Upload a scenario (YAML)", "上传场景文件 (YAML)"),
    "uploaded": ("Uploaded", "已上传"),
    "forget_upload": ("Use the shipped scenario", "改用内置场景"),
    "levers": ("Levers", "决策变量"),
    "seed": ("Seed", "随机种子"),
    "replications": ("Replications (compare)", "重复次数 (对比)"),
    "run": ("Run", "运行"),
    "compare": ("Compare with baseline", "与基准对比"),
    "reset": ("Reset levers", "重置"),
    "results": ("Results", "结果"),
    "comparison": ("Comparison", "对比"),
    "leaderboard": ("Leaderboard", "排行榜"),
    "press_run": ("Move the levers, then press Run.", "调整决策变量，然后点击“运行”。"),
    "press_compare": ("Press “Compare with baseline”: your levers against the unchanged "
                      "scenario, with the same random numbers.",
                      "点击“与基准对比”：在相同随机数下比较你的设置与原始场景。"),
    "queued": ("waiting for a free worker: {ahead} run(s) ahead", "排队中：前面还有 {ahead} 个任务"),
    "running": ("simulating… {seconds:.0f} s", "模拟中… {seconds:.0f} 秒"),
    "finished": ("{scenario}, seed {seed}: simulated in {seconds:.1f} s by worker process "
                 "{worker}", "{scenario}，种子 {seed}：用时 {seconds:.1f} 秒（工作进程 {worker}）"),
    "refused": ("Refused", "已拒绝"),
    "error": ("Error", "错误"),
    "kpis": ("Key figures (KPI)", "关键指标 (KPI)"),
    "downloads": ("Downloads", "下载"),
    "plots": ("Plots", "图表"),
    "kpi": ("KPI", "指标"),
    "value": ("value", "数值"),
    "meaning": ("meaning", "含义"),
    "difference": ("your policy − baseline [95% interval]", "你的策略 − 基准 [95% 置信区间]"),
    "verdict": ("verdict", "结论"),
    "higher": ("reliably higher", "显著更高"),
    "lower": ("reliably lower", "显著更低"),
    "unclear": ("no clear difference (interval covers 0)", "无显著差异 (区间包含 0)"),
    "compare_note": ("{replications} replications each, common random numbers, seed {seed}; "
                     "the interval is the paired 95% t-interval (worker process {worker}).",
                     "各重复 {replications} 次，共同随机数，种子 {seed}；区间为配对 95% t 区间"
                     "（工作进程 {worker}）。"),
    "no_league": ("No leaderboard yet in {folder}. The instructor runs: crmsim tournament "
                  "CLASS.yaml SUBMISSIONS/ --out {folder}",
                  "{folder} 中还没有排行榜。教师运行：crmsim tournament CLASS.yaml SUBMISSIONS/ "
                  "--out {folder}"),
    "reload": ("Reload", "刷新"),
    "left_out": ("Submissions left out", "无效提交"),
    "objective": ("Objective", "目标"),
    "constraints": ("Constraints", "约束"),
    "profit": ("Profit", "利润"),
}

#: Chinese names of the KPIs shown most (the rest keep their English name)
KPI_CHINESE = {
    "active_end": "期末活跃客户", "initial": "初始客户", "acquired": "新获客户",
    "churned": "流失客户", "churn_rate": "流失率", "purchases": "购买次数", "revenue": "收入",
    "margin": "毛利", "acquisition_cost": "获客成本", "fixed_cost": "固定成本",
    "desk_cost": "客服成本", "program_cost": "积分计划成本", "serve_cost": "服务成本",
    "offer_cost": "挽留优惠成本", "win_back_cost": "赢回成本", "costs": "总成本", "profit": "利润",
    "npv_profit": "利润净现值", "mean_satisfaction": "平均满意度", "failures": "服务失误",
    "complaints": "投诉", "complaint_rate": "投诉率", "desk_contacts": "客服来电",
    "desk_answered": "已接来电", "desk_wait_probability": "等待概率", "desk_asa": "平均应答时间",
    "desk_service_level": "服务水平", "desk_abandon_rate": "放弃率", "desk_utilization": "客服利用率",
    "acquired_paid": "付费获客", "acquired_word_of_mouth": "口碑获客", "cac": "单位获客成本",
    "warning_precision": "预警精确率", "warning_recall": "预警召回率", "warning_lift": "预警提升度",
    "offers": "挽留优惠数", "offers_saved": "成功挽留", "win_back_attempts": "赢回尝试",
    "win_backs": "赢回客户", "win_back_rate": "赢回率", "members": "会员数",
    "redemptions": "兑换次数", "breakage": "积分未兑换率",
    "churn_rate_true": "真忠诚客户流失率", "churn_rate_latent": "潜在忠诚客户流失率",
    "churn_rate_spurious": "虚假忠诚客户流失率", "churn_rate_none": "不忠诚客户流失率",
}


def word(key: str, language: str, **values) -> str:
    """A page word in ``en`` or ``zh``, with ``{placeholders}`` filled in."""
    english, chinese = WORDS[key]
    return (chinese if language == "zh" else english).format(**values)


def kpi_name(kpi: str, language: str) -> str:
    """'profit' in English; '利润 (profit)' in Chinese (the key stays visible for the CSV)."""
    if language == "zh" and kpi in KPI_CHINESE:
        return f"{KPI_CHINESE[kpi]} ({kpi})"
    return kpi
