package model_test

import (
	"fmt"

	"github.com/tapsim/tapsim/tui/model"
)

func ExampleModel() {
	m := model.New("NT$", 2, []string{"visa-plastic", "hce-phone"})
	for _, d := range "150000" {
		_ = m.TypeDigit(d)
	}
	m.Move(1)
	fmt.Println(m.Type, m.FormatAmount(m.Amount()), m.SelectedCard(), m.CanTap() == nil)
	// Output: sale NT$1,500.00 hce-phone true
}

func ExampleEntry_Report() {
	e := model.Entry{Kind: "sale", Card: "visa-plastic", STAN: "000001", Message: "Approved", Status: "approved", DE39: "00"}
	fmt.Println(e.Report()[:48])
	// Output: # tapsim transaction sale 000001 on visa-plastic
}
