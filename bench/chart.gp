# chart.gp - bar chart of the ratio table of bench/run.py (which calls it).
# gnuplot -e "datafile='X.dat'; outfile='ratios.png'; k=N; maintitle='...'" bench/chart.gp
# X.dat: a header line, then one line per workload: name, k time ratios, k RSS ratios.
if (!exists("maintitle")) maintitle = "ratios"
set terminal pngcairo size 1400,900 noenhanced font ",10"
set output outfile
set multiplot layout 2,1 title maintitle
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y 2
if (!exists("ymin")) ymin = 0.125
if (!exists("ymax")) ymax = 8
set yrange [ymin:ymax]
set ytics 2
set format y "%g"
set grid ytics
set key outside right top vertical
set xtics rotate by -25
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lw 2 lc rgb "black" front
set title "wall time"
plot for [i=2:k+1] datafile using i:xtic(1) title columnheader(i)
set title "peak RSS"
plot for [i=k+2:2*k+1] datafile using i:xtic(1) title columnheader(i)
unset multiplot
